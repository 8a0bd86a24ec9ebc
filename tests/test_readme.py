"""The README's promises: its downstream example runs, and CI runs its test command. (That the docs name
everything a user can reach, and that the README stays short, is tests/test_docs.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from .serving import serving

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


EXAMPLE = README.split("<!-- downstream-example -->\n```python\n", 1)[1].split("```", 1)[0]
TESTS = EXAMPLE.count("\ndef test_") + EXAMPLE.count("\nasync def test_")


@pytest.fixture
def downstream(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project holding the README's example test file."""
    pytester.makepyfile(test_from_readme=EXAMPLE)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


def test_the_downstream_example_runs_as_a_users_test_file(downstream: pytest.Pytester) -> None:
    downstream.runpytest("-p", "no:randomly").assert_outcomes(passed=TESTS)


@pytest.mark.slow
def test_the_downstream_example_runs_unchanged_against_a_plain_mh_mock_serve(downstream: pytest.Pytester) -> None:
    """A server with its own defaults (real-time clock, clock progression): the fixtures still get theirs, in a
    namespace of each test's own that is gone when the run ends."""
    with serving() as served:
        result = downstream.runpytest_subprocess(f"--mh-mock-url={served.url}", "-p", "no:randomly")
        result.assert_outcomes(passed=TESTS)
        state = httpx.get(f"{served.url}/mh-mock-api/state").json()
        assert (state["frozen"], state["progression"]) == (False, "clock")  # the server's own clock untouched
        assert state["projects"] == 0 and state["accounts"] == 0  # nothing left behind


@pytest.mark.slow
def test_the_downstream_example_runs_on_two_workers_sharing_one_server(downstream: pytest.Pytester) -> None:
    """Under pytest-xdist too each test is a namespace: its own clock, progression, rules and webhooks."""
    with serving() as served:
        result = downstream.runpytest_subprocess(f"--mh-mock-url={served.url}", "-n", "2", "-p", "no:randomly")
        result.assert_outcomes(passed=TESTS)
        state = httpx.get(f"{served.url}/mh-mock-api/state").json()
        assert (state["frozen"], state["progression"]) == (False, "clock")  # the server's own clock untouched
        assert state["projects"] == 0 and state["accounts"] == 0  # every test's tenant was removed


def test_ci_runs_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    test_command = next(line for block in blocks for line in block.splitlines() if "pytest" in line)
    assert test_command in (ROOT / ".ci" / "run").read_text()
