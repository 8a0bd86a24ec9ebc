"""Both adapters serve one route table; the console script and the vendored contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from mh_mock.contract import openapi_document
from mh_mock.control.operations import ADMIN_PREFIX, OPERATIONS
from mh_mock.inprocess import MhMock
from mh_mock.standalone.threaded import LiveServer
from mh_mock.vendor import ROUTES

from .serving import serving

START = 1_767_225_600.0


class _Admin(NamedTuple):
    method: str
    path: str


SHARED = Path(__file__).resolve().parents[2] / "shared" / "contract"


def test_the_route_table_is_exactly_the_contracts_operations() -> None:
    contract = {(m.upper(), p) for p, item in openapi_document()["paths"].items() for m in item}
    assert {(r.method, r.path) for r in ROUTES if not r.storage} == contract


def test_both_adapters_answer_every_route_the_same(live_server: LiveServer) -> None:
    """A request that no route would reject gets the same status in both modes."""
    probes = [
        (
            r.method,
            r.path.replace("{id}", "nope").replace("{asset}", "x").replace("{name}", "y.wav").replace("{token}", "t"),
        )
        for r in (*ROUTES, *(_Admin(op.method, ADMIN_PREFIX + op.path) for op in OPERATIONS))
        if "reset" not in r.path
    ]
    headers = {"authorization": "Bearer parity"}

    def answers(http: httpx.Client, base: str) -> list[tuple[int, str, str]]:
        replies = [http.request(m, f"{base}{p}") for m, p in probes]
        return [(r.status_code, r.headers.get("content-type", ""), r.text.replace(base, "BASE")) for r in replies]

    with (
        MhMock(storage_url="https://api.magichour.ai", seed=1, start_time=START) as fake,
        httpx.Client(headers=headers) as http,
    ):
        local = answers(http, fake.api_url)
    live_server.reset(seed=1, start_time=START)  # the same ids and clock, so the same bodies
    try:
        with httpx.Client(headers=headers) as http:
            remote = answers(http, live_server.url)
    finally:
        live_server.reset()
    assert local == remote
    local = [status for status, _, _ in local]
    assert 200 in local and 404 in local and 400 in local


def test_fakes_are_isolated_from_each_other() -> None:
    with MhMock(seed=1) as first:
        httpx.get("https://api.magichour.ai/v1/account", headers={"authorization": "Bearer a"})
    with MhMock(seed=1) as second:
        assert second.accounts() == []
    assert len(first.accounts()) == 1


def test_a_base_url_with_a_path_prefix_is_served_under_it() -> None:
    base = "https://api.sideko.dev/v1/mock/magichour/magic-hour/0.90.0"
    with MhMock(api_url=base) as fake:
        answer = httpx.get(f"{base}/v1/account", headers={"authorization": "Bearer a"})
        assert answer.status_code == 200
        assert fake.journal.last.route == "account.get"


def test_mock_transport_works_without_respx() -> None:
    fake = MhMock()
    with httpx.Client(transport=httpx.MockTransport(fake.handler)) as client:
        answer = client.get("https://api.magichour.ai/v1/account", headers={"authorization": "Bearer a"})
    assert answer.json()["credits"] == 10_000


def test_the_openapi_document_is_served(live_server: LiveServer) -> None:
    document = httpx.get(f"{live_server.url}/openapi.json").json()
    assert document["servers"] == [{"url": live_server.url}]
    assert "/v1/ai-voice-generator" in document["paths"]
    assert "/mh-mock-api/clock/advance" in document["paths"]


@pytest.mark.skipif(not SHARED.exists(), reason="shared/contract is not beside this checkout")
@pytest.mark.parametrize("name", ["openapi-audio.json", "webhooks-audio.json"])
def test_vendored_contract_matches_shared(name: str) -> None:
    vendored = Path(__file__).resolve().parents[1] / "mh_mock" / "contract" / name
    assert json.loads(vendored.read_text()) == json.loads((SHARED / name).read_text())


def test_serve_help_explains_every_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mh_mock", "serve", "--help"], capture_output=True, text=True, check=True
    )
    for option in (
        "--host",
        "--port",
        "--random-seed",
        "--balance",
        "--progression",
        "--strict-auth",
        "--admin-token",
        "--token",
    ):
        assert option in result.stdout
    text = " ".join(result.stdout.split())
    assert "default: 127.0.0.1" in text and "default: 8000" in text


def test_mh_mock_serve_runs_a_working_server_on_loopback() -> None:
    with serving() as served:
        assert f"serving the Magic Hour audio API fake at {served.url}" in served.lines[0], served.lines
        assert not any("warning" in line for line in served.lines)
        answer = httpx.get(f"{served.url}/v1/account", headers={"authorization": "Bearer cli"})
        assert answer.json()["credits"] == 10_000


def test_mh_mock_serve_beyond_loopback_needs_the_public_url_and_warns() -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "mh_mock", "serve", "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "add --public-url" in refused.stderr  # else upload and download URLs would say http://0.0.0.0:8000
    with serving("--host", "0.0.0.0", "--public-url", "http://fake.test:9") as served:
        assert "warning: listening on 0.0.0.0, reachable from other machines" in served.lines[0], served.lines
        created = httpx.post(
            f"{served.url}/v1/files/upload-urls", headers={"authorization": "Bearer cli"},
            json={"items": [{"type": "audio", "extension": "wav"}]},
        )  # fmt: skip
        assert created.json()["items"][0]["upload_url"].startswith("http://fake.test:9/api-assets/")
