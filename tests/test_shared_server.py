"""One plain ``mh-mock serve`` shared by several test runs at once: each run, in one process or on
xdist workers, is isolated, and leaves the server as it found it (issue: one server, many runs).

A downstream suite using the clock, progression, scenarios, faults, webhooks (through
``mh_webhooks``), balances, the factory and the journal runs in three pytest processes at the same
time (two single-process, one on two xdist workers), twice; every test passes, and afterwards the
server's state, webhooks, faults, scenarios, namespaces and journal are as before the runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .serving import serving

pytestmark = pytest.mark.slow

SUITE = """
import pytest
from mh_mock.client import MagicHourError


def test_the_clock_is_the_tests_own(mh_time, mh_client):
    with mh_time.clock_driven():
        project_id = mh_client.create_voice("Hi", "Elon Musk")["id"]
        assert mh_client.get(project_id)["status"] == "queued"
        mh_time.advance(1)
        assert mh_client.get(project_id)["status"] == "rendering"
        mh_time.advance(3)
        assert mh_client.get(project_id)["status"] == "complete"


def test_poll_progression_and_the_journal(mh_mock, mh_client):
    project = mh_client.wait(mh_client.create_voice("Hi", "Elon Musk")["id"], interval=0)
    assert project["status"] == "complete"
    assert mh_mock.journal.polls(project["id"]) == 3
    assert [c.route for c in mh_mock.journal] == ["voice_generator.create", *["projects.get"] * 3]


def test_a_scenario_decides_only_this_tests_jobs(mh_mock, mh_client):
    mh_mock.fail_next(1, "invalid_voice")
    project = mh_client.wait(mh_client.create_voice("Hi", "Elon Musk")["id"], interval=0)
    assert project["error"]["code"] == "invalid_voice" and project["credits_charged"] == 0
    assert mh_client.wait(mh_client.create_voice("Hi", "Elon Musk")["id"], interval=0)["status"] == "complete"


def test_a_fault_strikes_only_this_tests_calls(mh_mock, mh_client):
    mh_mock.add_fault("rate_limit", route="account.get", retry_after=3)
    with pytest.raises(MagicHourError) as refused:
        mh_client.account()
    assert refused.value.status == 429
    assert mh_client.account()["credits"] == 10_000


@pytest.mark.mh_mock(starting_balance=20)
def test_balances_and_a_402(mh_mock, mh_client, mh_token):
    mh_client.create_music(15, "jazz")
    with pytest.raises(MagicHourError) as refused:
        mh_client.create_music(15, "jazz")
    assert refused.value.status == 402
    assert mh_mock.balance(mh_token) == 5


def test_webhooks_reach_this_tests_receiver(mh_webhooks, mh_client):
    project_id = mh_client.create_voice("Hi", "Elon Musk")["id"]
    mh_client.wait(project_id, interval=0)
    completed = mh_webhooks.wait_for("audio.completed", project_id)
    assert completed["payload"]["status"] == "complete"
    assert mh_webhooks.types() == ["audio.started", "audio.completed"] and mh_webhooks.rejected == 0


def test_listings_show_this_tests_objects_only(mh_mock, mh_client, mh_factory, mh_token):
    mh_client.create_voice("Hi", "Elon Musk")
    other = mh_factory.account(credits=7)
    mh_factory.project("complete", token=other["token"], prompt="Hello there")  # 11 characters: 2 credits
    assert sorted(a["token"] for a in mh_mock.accounts()) == sorted([mh_token, other["token"]])
    assert len(mh_mock.projects()) == 2
    assert mh_mock.balance(other["token"]) == 7 - 2


def test_the_progression_switch_is_this_tests_own(mh_mock, mh_time):
    mh_time.progression = "clock"
    assert mh_mock.state()["progression"] == "clock" and mh_mock.state()["own_clock"] is True
"""

RUNS = [[], [], ["-n", "2"]]
"""Three runs at once: two in one process each, one on two xdist workers."""


def _server_view(url: str) -> dict[str, object]:
    """What a person (or the next run) sees of the server: its state and every list of it."""
    admin = f"{url}/mh-mock-api"
    state = httpx.get(f"{admin}/state").json()
    del state["now"], state["epoch"]
    return {
        "state": state,
        **{name: httpx.get(f"{admin}/{name}").json() for name in ("accounts", "projects", "webhooks", "faults")},
        "scenarios": httpx.get(f"{admin}/scenarios").json(),
        "tenants": httpx.get(f"{admin}/tenants").json(),
        "journal": httpx.get(f"{admin}/journal").json(),
        "deliveries": httpx.get(f"{admin}/webhooks/deliveries").json(),
    }


def test_runs_sharing_one_server_pass_and_leave_it_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "test_downstream.py").write_text(SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    quiet = ["-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:hypothesispytest", "-p", "no:schemathesis"]
    with serving() as served:
        before = _server_view(served.url)
        assert before["state"] == {  # a plain server: real time, its own clock untouched by the runs
            "frozen": False,
            "progression": "clock",
            "own_clock": False,
            "projects": 0,
            "accounts": 0,
            "pending_deliveries": 0,
        }
        for _ in range(2):
            runs = [
                subprocess.Popen(
                    [sys.executable, "-m", "pytest", "-q", *quiet, *extra, f"--mh-mock-url={served.url}"],
                    cwd=tmp_path,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for extra in RUNS
            ]
            outputs = [run.communicate(timeout=300)[0] for run in runs]
            for run, output in zip(runs, outputs, strict=True):
                assert run.returncode == 0, output
                assert f"{SUITE.count(chr(10) + 'def test_')} passed" in output, output
        after = _server_view(served.url)
        assert after["journal"] == before["journal"], after["journal"]
        assert after == before
