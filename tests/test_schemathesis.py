"""Schemathesis against the standalone server, from the OpenAPI document the server itself serves.

For every vendor operation of ``GET {server}/openapi.json`` (the storage and ``/mh-mock-api``
routes are excluded: admin calls can reset state, and storage URLs are signed), schemathesis
generates a bounded, derandomized set of positive and negative requests, sends them with a
bearer token and runs three checks on every answer:

- ``not_a_server_error``: no 5xx, whatever the input;
- ``status_code_conformance``: the status is one the contract documents for the operation (the
  fake's two statuses outside the contract, 405 and 413, are accepted when their body is the
  ``{code, message}`` error shape);
- ``response_schema_conformance``: the body matches the contract's schema for that status;

plus the suite's stricter ``assert_valid_response`` (timestamp and URI formats, exact error keys).
GET and DELETE of a project draw their ``{id}`` either from schemathesis or from projects that
exist in every state, so real bodies (queued, rendering, complete with downloads, error,
deleted) are validated too. Valid upload bodies are mixed in, since random extensions are 422s.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from mh_mock.contract import openapi_document
from mh_mock.control.operations import ADMIN_PREFIX, OPERATIONS
from mh_mock.standalone.threaded import LiveServer

from .contract_check import EXTRA_STATUSES, assert_valid_response

TOKEN = "mhk_live_schemathesis"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}

OPERATION_IDS = {
    (method.upper(), path): operation["operationId"]
    for path, item in openapi_document()["paths"].items()
    for method, operation in item.items()
}
VENDOR_OPERATIONS = sorted(OPERATION_IDS)
"""(METHOD, path) of every operation of the vendor contract: what is fuzzed."""

VALID_UPLOAD_BODIES = [
    {"items": [{"type": "audio", "extension": "wav"}]},
    {"items": [{"type": "video", "extension": "mp4"}, {"type": "image", "extension": "png"}]},
]
"""Random extensions are almost always 422; these make the 200 answer conform too."""


def _error_shaped(response: Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("code"), str) and isinstance(body.get("message"), str)


def documented_status(ctx: Any, response: Any, case: Any) -> bool | None:
    """``status_code_conformance``, with the fake's 405 and 413 treated as documented."""
    if response.status_code in EXTRA_STATUSES:
        assert _error_shaped(response), f"{response.status_code} without a {{code, message}} body"
        return None
    return schemathesis.checks.status_code_conformance(ctx, response, case)  # type: ignore[no-any-return]


CHECKS = [
    schemathesis.checks.not_a_server_error,
    documented_status,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def served_schema(_mh_mock_live_server: LiveServer) -> Any:
    """The server's own ``/openapi.json``, loaded by schemathesis, vendor operations only."""
    schema = schemathesis.openapi.from_url(f"{_mh_mock_live_server.url}/openapi.json", timeout=10)
    return schema.exclude(path_regex=r"^/(mh-mock-api|api-assets|outputs)/")


def test_the_served_document_has_every_vendor_operation_and_the_excluded_extras(
    _mh_mock_live_server: LiveServer, served_schema: Any
) -> None:
    document = httpx.get(f"{_mh_mock_live_server.url}/openapi.json").json()
    served = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    assert set(VENDOR_OPERATIONS) < served
    assert any(p.startswith("/mh-mock-api/") for _, p in served)
    labels = {op.ok().label for op in served_schema.get_all_operations()}
    assert labels == {f"{m} {p}" for m, p in VENDOR_OPERATIONS}


def _existing_projects(server: LiveServer) -> list[str]:
    """Projects of TOKEN in every state: queued, complete, error, and deleted (canceled)."""
    voice = {"style": {"prompt": "Hello", "voice_name": "Elon Musk"}}
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        queued, complete, deleted = (http.post("/v1/ai-voice-generator", json=voice).json()["id"] for _ in range(3))
        music = http.post("/v1/ai-music-generator", json={"duration": 15, "style": {"prompt": "jazz"}}).json()["id"]
        failed = server.create_project(TOKEN, outcome="error:invalid_voice")["id"]
        for project_id in (complete, music, failed):
            server.finish(project_id)
        assert http.delete(f"/v1/audio-projects/{deleted}").status_code == 204
    return [queued, complete, deleted, music, failed]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), VENDOR_OPERATIONS, ids=[f"{m} {p}" for m, p in VENDOR_OPERATIONS])
def test_fuzzed_requests_get_documented_answers_and_never_a_5xx(
    mh_mock_server: LiveServer, served_schema: Any, method: str, path: str, mode: GenerationMode
) -> None:
    operation = served_schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode)
    if "{id}" in path:
        known = _existing_projects(mh_mock_server)
        strategy = st.one_of(
            strategy,
            st.sampled_from(known).flatmap(
                lambda project_id: operation.as_strategy(generation_mode=mode, path_parameters={"id": project_id})
            ),
        )
    elif path == "/v1/files/upload-urls" and mode is GenerationMode.POSITIVE:
        strategy = st.one_of(
            strategy,
            st.sampled_from(VALID_UPLOAD_BODIES).flatmap(lambda body: operation.as_strategy(body=body)),
        )
    statuses: list[int] = []

    @settings(
        max_examples=MAX_EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=mh_mock_server.url, headers=AUTH, timeout=10)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=AUTH)
        if response.status_code >= 400:
            assert _error_shaped(response), response.text
        # the stricter project check too: date-time and uri formats, no extra error keys
        body = response.json() if response.content else None
        assert_valid_response(OPERATION_IDS[(method, path)], response.status_code, body)

    run()
    assert statuses, "schemathesis generated nothing"
    assert all(status < 500 for status in statuses)
    if mode is GenerationMode.POSITIVE:
        assert min(statuses) < 300, f"no valid request succeeded: {sorted(set(statuses))}"
    else:
        assert max(statuses) >= 400, f"no invalid request was refused: {sorted(set(statuses))}"


@pytest.fixture(scope="module")
def admin_server() -> Any:
    """A server of its own: fuzzed admin calls reset it, move its clock, add faults."""
    with LiveServer(frozen_clock=True, progression="poll") as server:
        yield server


@pytest.fixture(scope="module")
def admin_schema(admin_server: LiveServer) -> Any:
    return schemathesis.openapi.from_url(f"{admin_server.url}/openapi.json", timeout=10)


def _refused_by_http(response: Any) -> bool:
    """uvicorn's own answer to a request line it cannot parse (it never reaches the app)."""
    return response.status_code == 400 and response.content == b"Invalid HTTP request received."


ADMIN_OPERATIONS = [(op.method, ADMIN_PREFIX + op.path) for op in OPERATIONS]


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), ADMIN_OPERATIONS, ids=[f"{m} {p}" for m, p in ADMIN_OPERATIONS])
def test_fuzzed_admin_calls_are_refused_with_a_4xx_and_never_a_5xx(
    admin_server: LiveServer, method: str, path: str
) -> None:
    """Every admin body is a real schema in /openapi.json: schemathesis generates from it, valid and not."""
    schema = schemathesis.openapi.from_url(f"{admin_server.url}/openapi.json", timeout=10)
    operation = schema[path][method]
    headers = {"content-type": "application/json"}
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    statuses: list[int] = []

    @settings(max_examples=6, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=admin_server.url, headers=headers, timeout=10)
        statuses.append(response.status_code)
        assert response.status_code < 500, (case.body, response.text)
        if response.status_code >= 400 and not _refused_by_http(response):
            assert _error_shaped(response), response.text
        if path.endswith("/reset") and response.status_code == 200:
            admin_server.reset()  # keep the server small for the next case

    run()
    assert statuses
