"""The README's promises: its downstream example runs, and CI runs its test command."""

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


def test_the_readme_documents_every_option_method_command_and_flag() -> None:
    """Every Config field, control method, CLI command and serve flag a user can reach is in the README."""
    import dataclasses

    from mh_mock.cli import build_parser
    from mh_mock.config import Config
    from mh_mock.control.operations import OPERATIONS
    from mh_mock.control.remote import Control

    missing = [f"Config.{f.name}" for f in dataclasses.fields(Config) if f"`{f.name}`" not in README]
    methods = [name for name in dir(Control) if not name.startswith("_") and name != "scope"]
    missing += [f"Control.{name}" for name in methods if f"`{name}" not in README]
    missing += [f"mh-mock {op.command}" for op in OPERATIONS if op.command and f"`mh-mock {op.command}" not in README]
    parser = build_parser()
    serve = parser._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    flags = [flag for action in serve._actions for flag in action.option_strings if flag.startswith("--")]
    missing += [flag for flag in flags if flag != "--help" and f"`{flag}" not in README]
    for header in ("magic-hour-event-signature", "magic-hour-event-timestamp", "verify_request", "deliveries()"):
        if header not in README:
            missing.append(header)
    assert not missing, missing
