"""The README's promises: its downstream example runs, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_downstream_example_runs_as_a_users_test_file(pytester: pytest.Pytester) -> None:
    example = README.split("<!-- downstream-example -->\n```python\n", 1)[1].split("```", 1)[0]
    pytester.makepyfile(test_from_readme=example)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=example.count("\ndef test_") + example.count("\nasync def test_"))


def test_ci_runs_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    test_command = next(line for block in blocks for line in block.splitlines() if "pytest" in line)
    assert test_command in (ROOT / ".ci" / "run").read_text()
