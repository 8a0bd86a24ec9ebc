"""The ``mh-mock`` command against a running server: every operation of the table is a subcommand."""

from __future__ import annotations

import json

import httpx
import pytest

from mh_mock.cli import build_parser, main
from mh_mock.client import Client
from mh_mock.control.operations import OPERATIONS
from mh_mock.standalone.threaded import LiveServer
from mh_mock.vendor import RouteName

from .conftest import TOKEN
from .serving import serving


def test_the_cli_changes_what_the_next_api_call_returns(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    live_server.reset()
    assert main(["fail-next", "1", "--code", "invalid_voice", "--url", live_server.url]) == 0
    assert '"outcome"' in capsys.readouterr().out
    with Client(TOKEN, base_url=live_server.url) as client:
        project = client.wait(client.create_voice("Hi", "Elon Musk")["id"], interval=0)
        assert project["error"]["code"] == "invalid_voice"
        created = client.create_voice("Hello", "Elon Musk")["id"]
        assert main(["cancel", created, "--url", live_server.url]) == 0
        assert client.get(created)["status"] == "canceled"
        assert main(["advance", "30", "--url", live_server.url]) == 0
    state = capsys.readouterr().out
    assert '"frozen": true' in state


def test_the_cli_reports_errors_clearly(live_server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cancel", "nope", "--url", live_server.url]) == 1
    assert "No project 'nope' (404)" in capsys.readouterr().err
    assert main(["state", "--url", "http://127.0.0.1:9"]) == 1
    assert "Is `mh-mock serve` running?" in capsys.readouterr().err


def test_the_admin_api_needs_its_token_when_one_is_set() -> None:
    with LiveServer(admin_token="s3cret") as server:
        refused = httpx.get(f"{server.url}/mh-mock-api/state")
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        assert server.state()["projects"] == 0  # the control client sends the token


def test_the_journal_prints_a_compact_table_with_filters(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    live_server.reset()
    with Client(TOKEN, base_url=live_server.url) as client:
        created = client.create_voice("Hi", "Elon Musk")["id"]
        client.get(created)
        with pytest.raises(Exception, match="404"):
            client.get("nope")
    assert main(["journal", "--url", live_server.url, "--route", "projects.get"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].split() == ["seq", "time", "method", "route", "status", "token", "project", "/", "fault"]
    assert [row.split()[4] for row in rows[1:]] == ["200", "404"] and created in rows[1]
    assert main(["journal", "--url", live_server.url, "--status", "404", "--json"]) == 0
    [call] = json.loads(capsys.readouterr().out)
    assert (call["route"], call["status"], call["project_id"]) == ("projects.get", 404, "nope")
    assert main(["journal", "--url", live_server.url, "--limit", "1", "--json"]) == 0
    assert [c["route"] for c in json.loads(capsys.readouterr().out)] == ["projects.get"]


def test_webhooks_can_be_listed_removed_and_redelivered(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    live_server.reset()
    url = ["--url", live_server.url]
    assert main(["webhook", "http://127.0.0.1:9/hook", "--secret", "whsec_x", "--events", "audio.completed", *url]) == 0
    endpoint = json.loads(capsys.readouterr().out)
    live_server.finish(live_server.create_project(TOKEN)["id"])
    assert main(["deliveries", *url]) == 0
    [delivery] = json.loads(capsys.readouterr().out)
    assert main(["redeliver", delivery["id"], *url]) == 0
    assert json.loads(capsys.readouterr().out)["redelivery_of"] == delivery["id"]
    assert main(["webhooks", *url]) == 0
    assert [e["id"] for e in json.loads(capsys.readouterr().out)] == [endpoint["id"]]
    assert main(["remove-webhook", endpoint["id"], *url]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_fault_help_lists_the_route_names_and_typos_are_refused(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["fault", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for name in RouteName.values():
        assert name in help_text
    assert main(["fault", "rate_limit", "--route", "project.get", "--url", live_server.url]) == 1
    assert "no route is named 'project.get'; route names are: voice_generator.create" in capsys.readouterr().err
    assert main(["fault", "latency", "--seconds", "0.1", "--times", "null", "--url", live_server.url]) == 0
    assert json.loads(capsys.readouterr().out)["times"] is None  # null: every matching call
    live_server.clear_faults()


@pytest.mark.slow
def test_serve_flags_given_explicitly_beat_the_seed_even_at_their_default() -> None:
    with serving("--seed", "examples", "--balance", "10000", "--progression", "poll") as served:
        fresh = httpx.get(f"{served.url}/v1/account", headers={"authorization": "Bearer new"}).json()
        assert (fresh["credits"], fresh["tier"]) == (10_000, "pro")  # the seed's tier, the command line's balance
        assert httpx.get(f"{served.url}/mh-mock-api/state").json()["progression"] == "poll"


def test_every_operation_is_a_subcommand_with_help() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for op in OPERATIONS:
        if op.command is not None:
            assert op.command in commands, op.name
            assert commands[op.command].description.startswith(op.summary)


@pytest.mark.parametrize(
    "order",
    [
        ["webhook", "http://127.0.0.1:9/hook", "--secret", "whsec_x", "--url", "SERVER"],
        ["webhook", "--url", "SERVER", "http://127.0.0.1:9/hook", "--secret", "whsec_x"],
        ["webhook", "http://127.0.0.1:9/hook", "--secret", "whsec_x"],  # the server from $MH_MOCK_URL
    ],
    ids=["url-last", "url-first", "environment"],
)
def test_a_webhook_url_is_the_hook_and_url_is_the_server_in_any_order(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, order: list[str]
) -> None:
    live_server.reset()
    monkeypatch.setenv("MH_MOCK_URL", live_server.url)
    assert main([live_server.url if arg == "SERVER" else arg for arg in order]) == 0
    assert json.loads(capsys.readouterr().out)["url"] == "http://127.0.0.1:9/hook"
    assert [hook["url"] for hook in live_server.webhooks()] == ["http://127.0.0.1:9/hook"]


def test_a_webhook_without_its_secret_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["webhook", "http://127.0.0.1:9/hook"])
    assert exited.value.code == 2
    assert "the following arguments are required: --secret" in capsys.readouterr().err


def test_set_balance_sets_and_the_python_balance_reads(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    live_server.reset()
    assert main(["set-balance", TOKEN, "42", "--url", live_server.url]) == 0
    assert json.loads(capsys.readouterr().out)["credits"] == 42 == live_server.balance(TOKEN)
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert "balance" not in commands  # the word that reads a balance in Python never sets one here


def test_a_refused_admin_call_says_where_the_token_goes(capsys: pytest.CaptureFixture[str]) -> None:
    with LiveServer(admin_token="s3cret") as server:
        assert main(["state", "--url", server.url]) == 1
        assert "(give it with --admin-token or $MH_MOCK_ADMIN_TOKEN)" in capsys.readouterr().err
        assert main(["state", "--url", server.url, "--admin-token", "s3cret"]) == 0
