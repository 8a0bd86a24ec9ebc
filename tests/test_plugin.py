"""The pytest plugin, exercised the way users meet it: downstream test files run by pytester."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mh_mock.standalone.threaded import LiveServer

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _quiet_ini(pytester: pytest.Pytester) -> None:
    """Downstream runs get a minimal ini (pytest-asyncio asks for its loop scope)."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


DOWNSTREAM = """
import os, wave
import httpx, pytest

pytestmark = pytest.mark.mh_mock(starting_balance=500)


def test_in_process_fake_and_reference_client(mh_mock, mh_client):
    project = mh_client.create_voice("Hello", "Elon Musk")
    assert mh_client.wait(project["id"], interval=0)["status"] == "complete"
    assert mh_mock.journal.polls(project["id"]) == 3
    assert mh_client.account()["credits"] == 499


@pytest.mark.mh_mock(starting_balance=7, seed=3)
def test_closest_marker_wins(mh_client):
    assert mh_client.account()["credits"] == 7


def test_sdk_generate_needs_no_setup(mh_sdk, tmp_path):
    assert os.environ["MAGIC_HOUR_POLL_INTERVAL"] == "0"
    result = mh_sdk.v1.ai_voice_generator.generate(
        style={"prompt": "Hi", "voice_name": "Elon Musk"},
        wait_for_completion=True, download_outputs=True, download_directory=str(tmp_path),
    )
    assert result.status == "complete"
    with wave.open(result.downloaded_paths[0]) as reader:
        assert reader.getnframes() > 0


def test_time_control(mh_time, mh_client):
    with mh_time.clock_driven():
        project = mh_client.create_music(15, "jazz")
        assert mh_client.get(project["id"])["status"] == "queued"
        mh_time.advance(1)
        assert mh_client.get(project["id"])["status"] == "rendering"
        mh_time.finish()
        assert mh_client.get(project["id"])["status"] == "complete"
    assert mh_time.progression == "poll"


def test_factory_states(mh_factory, mh_client):
    states = {s: mh_factory.project(s) for s in ("queued", "rendering", "complete", "error", "canceled", "deleted")}
    assert {s: p["status"] for s, p in states.items()} == {
        "queued": "queued", "rendering": "rendering", "complete": "complete",
        "error": "error", "canceled": "canceled", "deleted": "complete",
    }
    assert states["deleted"]["enabled"] is False
    assert states["error"]["error"]["code"] in ("text_too_long", "invalid_voice", "insufficient_credits", "processing_timeout")
    assert mh_client.get(states["complete"]["id"])["downloads"]
    rich = mh_factory.account(credits=1_000_000)
    assert rich["credits"] == 1_000_000 and "@" in rich["email"]


def test_journal_helpers(mh_mock, mh_client, tmp_path):
    project = mh_client.wait(mh_client.create_voice("Hi", "Elon Musk")["id"], interval=0)
    mh_client.download(project, tmp_path)
    mh_client.delete(project["id"])
    assert mh_mock.journal.downloaded(project["id"])
    mh_mock.journal.assert_no_calls_after_delete(project["id"])
    assert [c.status for c in mh_mock.journal.filter("projects.*")] == [200, 200, 200, 204]


def test_unmatched_request_says_what_was_sent(mh_mock):
    answer = httpx.get("https://api.magichour.ai/v1/video-projects/x", headers={"authorization": "Bearer t"})
    assert answer.status_code == 404
    assert answer.json()["message"].startswith(
        "No mh-mock route matches GET https://api.magichour.ai/v1/video-projects/x. This host serves: "
        "POST /v1/ai-voice-generator, POST /v1/ai-voice-cloner, POST /v1/ai-music-generator, "
        "GET /v1/audio-projects/{id}, DELETE /v1/audio-projects/{id}, POST /v1/files/upload-urls, GET /v1/account, "
        "POST /mh-mock-api/reset"
    )
    assert mh_mock.journal.unmatched()[0].url == "https://api.magichour.ai/v1/video-projects/x"


@pytest.mark.mh_mock(starting_balanse=3)
def test_misspelt_option(mh_mock):
    pass


@pytest.mark.mh_mock(sdk_poll_interval=None)
def test_poll_interval_opt_out(mh_mock):
    assert "MAGIC_HOUR_POLL_INTERVAL" not in os.environ


def test_standalone_server_fixture(mh_mock_server, mh_client):
    assert mh_client.base_url == mh_mock_server.url
    assert mh_client.account()["credits"] == 500
    assert mh_mock_server.journal.last.route == "account.get"
"""

ASYNC = """
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_anyio(mh_async_client):
    project = await mh_async_client.create_voice("Hi", "Elon Musk")
    assert (await mh_async_client.wait(project["id"], interval=0))["status"] == "complete"


@pytest.mark.asyncio
async def test_pytest_asyncio(mh_async_client, mh_async_sdk):
    project = await mh_async_client.create_voice("Hi", "Elon Musk")
    result = await mh_async_sdk.v1.audio_projects.check_result(id=project["id"], wait_for_completion=True, download_outputs=False)
    assert result.status == "complete"
"""


def test_downstream_suite_uses_every_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_downstream=DOWNSTREAM)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=9, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*TypeError: unknown @pytest.mark.mh_mock option(s) starting_balanse; valid options are: starting_balance, seed, *"
        ]
    )


def test_async_fixtures_work_with_pytest_asyncio_and_anyio(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_async=ASYNC)
    pytester.runpytest().assert_outcomes(passed=2)


def test_the_same_tests_run_against_a_live_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_live="""
def test_live(mh_mock, mh_client, mh_sdk):
    assert mh_mock.api_url == mh_client.base_url
    assert mh_client.base_url.startswith("http://127.0.0.1:")
    project = mh_client.wait(mh_client.create_voice("Hi", "Elon Musk")["id"], interval=0)
    assert mh_sdk.v1.audio_projects.get(id=project["id"]).status == "complete"
    assert mh_mock.journal.polls(project["id"]) == 4
"""
    )
    with LiveServer(progression="poll", frozen_clock=True) as server:
        pytester.runpytest(f"--mh-mock-url={server.url}").assert_outcomes(passed=1)
        assert (server.state()["projects"], server.state()["accounts"], server.tenants()) == (0, 0, [])
        assert list(server.journal) == []  # the test's namespace left nothing behind


def test_a_preload_seeds_own_clock_settings_win_over_the_fixture_defaults_in_every_mode(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_seeded="""
import pytest

SEED = {"config": {"progression": "clock", "frozen_clock": False}}

@pytest.mark.mh_mock(preload=SEED)
def test_in_process(mh_mock):
    assert (mh_mock.state()["progression"], mh_mock.state()["frozen"]) == ("clock", False)

@pytest.mark.mh_mock(preload=SEED)
def test_session_server(mh_mock_server):
    assert (mh_mock_server.state()["progression"], mh_mock_server.state()["frozen"]) == ("clock", False)

@pytest.mark.mh_mock(preload=SEED, progression="poll")
def test_the_marker_wins_over_the_seed(mh_mock_server):
    assert mh_mock_server.state()["progression"] == "poll"
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_on_a_shared_server_the_servers_seed_wins_over_the_fixture_defaults_and_a_preload_says_what_to_do(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_live="""
import pytest

def test_a_namespace_takes_the_servers_seed(mh_mock):
    assert (mh_mock.state()["progression"], mh_mock.state()["frozen"]) == ("clock", False)

@pytest.mark.mh_mock(progression="poll")
def test_the_marker_still_wins(mh_mock):
    assert mh_mock.state()["progression"] == "poll"

@pytest.mark.mh_mock(preload="every-status")
def test_a_preload_is_the_servers(mh_mock):
    pass
"""
    )
    seed = {"config": {"progression": "clock", "frozen_clock": False}}
    with LiveServer(preload=seed) as server:
        result = pytester.runpytest("-p", "no:cacheprovider", f"--mh-mock-url={server.url}")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*preload cannot be set for one test on a shared server*Instead: preload: seeded ids are fixed*--seed*"]
    )


def test_xdist_workers_each_get_their_own_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_parallel="\n".join(
            f"""
def test_{n}(mh_mock_server, mh_client):
    mh_client.create_voice("Hi", "Elon Musk")
    assert len(mh_mock_server.projects()) == 1
"""
            for n in range(6)
        )
    )
    unrelated = ["-p", "no:hypothesispytest", "-p", "no:faker", "-p", "no:schemathesis"]  # slow to import
    pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", *unrelated).assert_outcomes(passed=6)


def test_importing_the_plugin_is_cheap() -> None:
    """It loads in every pytest run of the environment: no httpx, respx, server or schema work."""
    code = "import sys, mh_mock.pytest_plugin; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", f"import json; {code}"], capture_output=True, text=True, check=True)
    loaded = set(json.loads(result.stdout))
    heavy = {"httpx", "respx", "starlette", "uvicorn", "jsonschema", "faker", "magic_hour"}
    assert not heavy & loaded, heavy & loaded


def test_the_factory_makes_what_it_is_asked_even_with_a_rule_pending(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
def test_it(mh_mock, mh_factory):
    mh_mock.fail_next(1, "invalid_voice")
    assert mh_factory.project("complete")["status"] == "complete"
    assert mh_mock.scenarios()["rules"][0]["times"] == 1
"""
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_the_factory_says_how_to_get_faker_when_it_is_missing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import sys\nsys.modules['faker'] = None  # as if mh-mock[factory] were not installed\n")
    pytester.makepyfile("def test_it(mh_factory):\n    pass\n")
    result = pytester.runpytest("-p", "no:faker", "-p", "no:randomly")
    result.assert_outcomes(errors=1)
    assert "mh_factory makes its data with Faker, an optional dependency: pip install 'mh-mock[factory]'" in str(
        result.stdout
    )


def test_a_server_with_an_admin_token_fails_the_test_naming_the_option_that_gives_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_locked="def test_locked(mh_mock):\n    pass\n")
    with LiveServer(admin_token="s3cret") as server:
        refused = pytester.runpytest("-p", "no:cacheprovider", f"--mh-mock-url={server.url}")
        refused.assert_outcomes(errors=1)
        refused.stdout.fnmatch_lines(["*needs the right x-mh-mock-admin-token header*--mh-mock-admin-token*"])
        given = pytester.runpytest(
            "-p", "no:cacheprovider", f"--mh-mock-url={server.url}", "--mh-mock-admin-token=s3cret"
        )
        given.assert_outcomes(passed=1)


def test_the_mh_mock_fixture_says_what_it_is_in_each_mode() -> None:
    from mh_mock import pytest_plugin

    doc = pytest_plugin.mh_mock.__doc__ or ""
    assert "in-process fake" in doc and "--mh-mock-url" in doc and "namespace of its own" in doc
