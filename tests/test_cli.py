"""The ``mh-mock`` command against a running server: every operation of the table is a subcommand."""

from __future__ import annotations

import httpx
import pytest

from mh_mock.client import Client
from mh_mock.control.cli import main
from mh_mock.standalone.threaded import LiveServer

from .conftest import TOKEN


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
