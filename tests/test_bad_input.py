"""Every class of bad input, in both modes: a 4xx with a ``{code, message}`` JSON body, never a 5xx,
and a rejected request changes nothing (no project, no charge, nothing stored).

Covered: malformed JSON, wrong content types, invalid UTF-8, bodies over ``max_body_bytes`` and
``max_upload_bytes``, absurdly deep nesting, a wrong type for every field of every request schema
of the contract, absurd numbers, unknown fields (accepted and ignored), empty strings, non-ASCII
and emoji text (accepted, charged per code point), lone surrogates, and odd storage paths
(traversal, percent-encoded dots and slashes, double slashes, NUL, very long paths).
"""

from __future__ import annotations

import copy
import http.client
import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from mh_mock.audio import render_wav
from mh_mock.contract import openapi_document, to_json_schema
from mh_mock.control.remote import Control, ControlError

from .conftest import TOKEN
from .engines import uploaded

VOICE, CLONER, MUSIC, UPLOADS = (
    "/v1/ai-voice-generator",
    "/v1/ai-voice-cloner",
    "/v1/ai-music-generator",
    "/v1/files/upload-urls",
)
CREATES = (VOICE, CLONER, MUSIC)
VALID: dict[str, dict[str, Any]] = {
    VOICE: {"name": "n", "style": {"prompt": "Hello", "voice_name": "Elon Musk"}},
    CLONER: {"name": "n", "assets": {"audio_file_path": "https://example.com/voice.mp3"}, "style": {"prompt": "Hello"}},
    MUSIC: {"name": "n", "duration": 15, "style": {"prompt": "jazz", "lyrics": "la la", "instrumental": False}},
    UPLOADS: {"items": [{"type": "audio", "extension": "wav"}]},
}
"""A valid body per operation that sets every field its request schema declares."""

WRONG: dict[str, list[Any]] = {
    "string": [7, 1.5, True, None, [], {}],
    "integer": ["15", 15.5, True, None, [], {}],
    "boolean": ["true", 1, None, [], {}],
    "object": ["x", 1, True, None, []],
    "array": ["x", 1, None, {}],
}
"""Values of the wrong JSON type for each declared type (15.0 is an integer in JSON Schema)."""

JSON = {"content-type": "application/json"}


def _request_schema(path: str) -> dict[str, Any]:
    operation = openapi_document()["paths"][path]["post"]
    return to_json_schema(operation["requestBody"]["content"]["application/json"]["schema"])  # type: ignore[no-any-return]


def _fields(schema: dict[str, Any], value: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(path, declared type) of every field of ``value`` that ``schema`` declares, depth first."""
    if schema.get("type") == "object":
        for name, sub in schema.get("properties", {}).items():
            if isinstance(value, dict) and name in value:
                yield (*where, name), sub["type"]
                yield from _fields(sub, value[name], (*where, name))
    elif schema.get("type") == "array" and isinstance(value, list) and value:
        yield (*where, 0), schema["items"]["type"]
        yield from _fields(schema["items"], value[0], (*where, 0))


def _label(where: tuple[Any, ...]) -> str:
    label = ""
    for part in where:
        label += f"[{part}]" if isinstance(part, int) else (f".{part}" if label else part)
    return label


def _replaced(body: Any, where: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(body)
    target = changed
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = value
    return changed


def _error(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """Assert a 4xx (``status`` if given) with exactly ``{code, message}`` strings as JSON; return it."""
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    if status is not None:
        assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"code", "message"}, body
    assert isinstance(body["code"], str) and isinstance(body["message"], str) and body["message"]
    return body


def _state(fake: Control) -> tuple[Any, ...]:
    """Everything a rejected request must leave alone: projects and every account's ledger."""
    return (
        [(p["id"], p["status"], p["enabled"]) for p in fake.projects()],
        sorted((a["id"], a["credits"], a["charged"], a["refunded"]) for a in fake.accounts()),
    )


@pytest.fixture
def before(fake: Control, http: httpx.Client) -> tuple[Any, ...]:
    """The state once TOKEN's account exists (a first call creates it, even a rejected one)."""
    assert http.get("/v1/account").status_code == 200
    return _state(fake)


def _declared(schema: dict[str, Any], where: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every field a request schema declares (array items as index 0)."""
    if schema.get("type") == "object":
        for name, sub in schema.get("properties", {}).items():
            yield (*where, name)
            yield from _declared(sub, (*where, name))
    elif schema.get("type") == "array":
        yield (*where, 0)
        yield from _declared(schema["items"], (*where, 0))


def test_every_valid_body_sets_every_declared_field_and_is_accepted(fake: Control, http: httpx.Client) -> None:
    """The baseline the other tests mutate, so that they reach every field of every request schema."""
    for path, body in VALID.items():
        schema = _request_schema(path)
        assert [where for where, _ in _fields(schema, body)] == list(_declared(schema)), path
        assert http.post(path, json=body).status_code == 200, path
    assert len(fake.projects()) == 3


# ---------------------------------------------------------------------------- malformed bodies


MALFORMED = [
    b"{",
    b"}",
    b"[",
    b"nul",
    b"{'style': {}}",
    b'{"style": {"prompt": "hi", "voice_name": "Elon Musk"},}',
    b'{"style": {"prompt": "hi", "voice_name": "Elon Musk"}} trailing',
    b'{"style": {"prompt": "hi", "voice_name": "Elon Musk"}}{}',
    b'{"style": {"prompt": "unterminated}}',
    b'{"style": {"prompt": "bad \\x escape", "voice_name": "Elon Musk"}}',
    b'{"style": {"prompt": "raw\x01control", "voice_name": "Elon Musk"}}',
    b'{"duration": NaN, "style": {"prompt": "x"}}',
    b'{"duration": Infinity, "style": {"prompt": "x"}}',
    b'{"duration": -Infinity, "style": {"prompt": "x"}}',
    b'{"duration": 0x1f, "style": {"prompt": "x"}}',
    b'{"duration": 015, "style": {"prompt": "x"}}',
    b'{"duration": +15, "style": {"prompt": "x"}}',
    b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
    b" \t\r\n ",
    b"",
    b"\x00",
]

INVALID_UTF8 = [
    b"\xff\xfe{}",
    b'{"style": {"prompt": "\xff", "voice_name": "Elon Musk"}}',
    b'{"style": {"prompt": "\xc0\xaf", "voice_name": "Elon Musk"}}',  # overlong '/'
    b'{"style": {"prompt": "\xed\xa0\x80", "voice_name": "Elon Musk"}}',  # a UTF-8-encoded surrogate
    b'{"style": {"prompt": "\xe2\x82", "voice_name": "Elon Musk"}}',  # truncated sequence
    b'{"name": "\xf8\x88\x80\x80\x80", "style": {"prompt": "hi", "voice_name": "Elon Musk"}}',  # 5-byte form
    '{"style": {"prompt": "héllo", "voice_name": "Elon Musk"}}'.encode("latin-1"),
]


def test_malformed_json_and_invalid_utf8_are_400(fake: Control, http: httpx.Client, before: tuple[Any, ...]) -> None:
    for path in (*CREATES, UPLOADS):
        for raw in (*MALFORMED, *INVALID_UTF8):
            body = _error(http.post(path, content=raw, headers=JSON), 400)
            assert body["code"] == "invalid_request", (path, raw, body)
    assert _state(fake) == before


NOT_JSON = (
    "text/plain",
    "text/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "application/octet-stream",
    "application/jsonx",
    "json",
    "",
    ";",
)


def test_a_content_type_other_than_json_is_400(fake: Control, http: httpx.Client, before: tuple[Any, ...]) -> None:
    for path in (*CREATES, UPLOADS):
        raw = json.dumps(VALID[path]).encode()
        for content_type in NOT_JSON:
            body = _error(http.post(path, content=raw, headers={"content-type": content_type}), 400)
            assert body["code"] == "invalid_request", (path, content_type, body)
            assert "Content-Type must be application/json" in body["message"], (path, content_type, body)
    assert _state(fake) == before
    # JSON spelled differently is JSON; no content type at all is taken as JSON too
    for path in (*CREATES, UPLOADS):
        raw = json.dumps(VALID[path]).encode()
        spellings: tuple[str | None, ...] = (
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "application/vnd.api+json",
            None,
        )
        for spelling in spellings:
            headers = {} if spelling is None else {"content-type": spelling}
            answer = http.post(path, content=raw, headers=headers)
            assert answer.status_code == 200, (path, spelling, answer.text)


def test_a_body_over_max_body_bytes_is_413_and_one_at_the_limit_is_not(
    fake: Control, http: httpx.Client, before: tuple[Any, ...]
) -> None:
    limit = 1024 * 1024  # the default max_body_bytes
    huge = b'{"padding": "' + b"x" * (8 * limit) + b'"}'
    at_limit = {}
    for path in (*CREATES, UPLOADS):
        skeleton = json.dumps({**VALID[path], "padding": ""}).encode()
        at_limit[path] = skeleton.replace(b'"padding": ""', b'"padding": "' + b"p" * (limit - len(skeleton)) + b'"')
        assert len(at_limit[path]) == limit
        over = at_limit[path].replace(b'"padding": "', b'"padding": "p', 1)
        for raw in (over, huge):
            body = _error(http.post(path, content=raw, headers=JSON), 413)
            assert body["code"] == "payload_too_large", (path, body)
    assert _state(fake) == before
    for path, raw in at_limit.items():
        assert http.post(path, content=raw, headers=JSON).status_code == 200, path


def test_an_upload_over_max_upload_bytes_is_413_and_stores_nothing(fake: Control, http: httpx.Client) -> None:
    fake.reset(max_upload_bytes=1000)
    (item,) = http.post(UPLOADS, json=VALID[UPLOADS]).json()["items"]
    with httpx.Client() as storage:
        body = _error(storage.put(item["upload_url"], content=b"RIFF" + b"\0" * 997), 413)
        assert body["code"] == "payload_too_large"
        assert uploaded(fake.engine, item["file_path"]) is None
        assert storage.put(item["upload_url"], content=b"RIFF" + b"\0" * 996).status_code == 200
    assert uploaded(fake.engine, item["file_path"]) == b"RIFF" + b"\0" * 996


DEEP = [
    b"[" * 100_000,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    b'{"style": {"prompt": "hi", "voice_name": "Elon Musk"}, "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"duration": 15, "style": {"prompt": "x", "extra": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}}",
]
"""Open and closed arrays and objects 100,000 deep, alone or inside a valid body."""


def test_absurdly_deep_nesting_is_400(fake: Control, http: httpx.Client, before: tuple[Any, ...]) -> None:
    for path in (*CREATES, UPLOADS):
        for raw in DEEP:
            body = _error(http.post(path, content=raw, headers=JSON), 400)
            assert body == {"code": "invalid_request", "message": "The request body is nested too deeply"}, path
    assert _state(fake) == before


def test_moderate_nesting_in_an_unknown_field_is_accepted_and_ignored(fake: Control, http: httpx.Client) -> None:
    nested = json.loads("[" * 500 + "]" * 500)
    answer = http.post(VOICE, json={**VALID[VOICE], "extra": nested})
    assert answer.status_code == 200
    assert answer.json()["credits_charged"] == 1
    assert len(fake.journal.calls) >= 1  # the journal (admin API in standalone) can still serialise it


# ---------------------------------------------------------------------------- wrong types and values


def test_a_wrong_type_for_any_field_is_400_naming_the_field(
    fake: Control, http: httpx.Client, before: tuple[Any, ...]
) -> None:
    problems = []
    for path in (*CREATES, UPLOADS):
        schema, valid = _request_schema(path), VALID[path]
        cases = [(where, value) for where, kind in _fields(schema, valid) for value in WRONG[kind]]
        assert len(cases) >= 20, path
        for where, value in cases:
            body = _error(http.post(path, json=_replaced(valid, where, value)), 400)
            if body["code"] != "invalid_request" or _label(where) not in body["message"]:
                problems.append((path, _label(where), value, body))
        for value in WRONG["object"]:  # the body itself
            body = _error(http.post(path, content=json.dumps(value), headers=JSON), 400)
            if body["message"] != f"Invalid type for request body: expected object, got {_json_type(value)}":
                problems.append((path, "<body>", value, body))
    assert not problems
    assert _state(fake) == before


def _json_type(value: Any) -> str:
    return {str: "string", int: "integer", bool: "boolean", type(None): "null", list: "array", dict: "object"}[
        type(value)
    ]


ABSURD_DURATIONS = [
    (b"1e309", "Invalid type for duration: expected integer, got number"),
    (b"-1e309", "Invalid type for duration: expected integer, got number"),
    (b"1" + b"0" * 400, "duration must be at most 300 (got 1" + "0" * 400 + ")"),
    (b"-1" + b"0" * 400, "duration must be at least 15 (got -1" + "0" * 400 + ")"),
    (b"1" + b"0" * 5000, None),  # over Python's int-conversion digit limit
    (b"-15", "duration must be at least 15 (got -15)"),
    (b"0", "duration must be at least 15 (got 0)"),
    (b"-0", "duration must be at least 15 (got 0)"),
    (b"1e-400", "duration must be at least 15 (got 0.0)"),
    (b"15.5", "Invalid type for duration: expected integer, got number"),
    (b"300.0000000001", "Invalid type for duration: expected integer, got number"),
    (b"14.999999", "Invalid type for duration: expected integer, got number"),
    (b"301", "duration must be at most 300 (got 301)"),
    (b"9223372036854775808", "duration must be at most 300 (got 9223372036854775808)"),
]
"""A music ``duration`` literal and the 400 message it gets (None: any message)."""


def test_absurd_numbers_are_400(fake: Control, http: httpx.Client, before: tuple[Any, ...]) -> None:
    for raw, message in ABSURD_DURATIONS:
        answer = http.post(MUSIC, content=b'{"duration": ' + raw + b', "style": {"prompt": "x"}}', headers=JSON)
        body = _error(answer, 400)
        assert body["code"] == "invalid_request", raw[:20]
        assert message is None or body["message"] == message, (raw[:20], body)
    assert _state(fake) == before


def test_absurd_numbers_where_strings_belong_are_400(
    fake: Control, http: httpx.Client, before: tuple[Any, ...]
) -> None:
    for raw in (b"1e309", b"1" + b"0" * 400, b"-0.0", b"1e-400"):
        answer = http.post(
            VOICE, content=b'{"style": {"prompt": ' + raw + b', "voice_name": "Elon Musk"}}', headers=JSON
        )
        assert _error(answer, 400)["message"].startswith("Invalid type for style.prompt"), answer.text
    assert _state(fake) == before


def test_integral_floats_are_integers_as_json_schema_says(fake: Control, http: httpx.Client) -> None:
    for raw, charge in ((b"15.0", 15), (b"1e2", 100), (b"3.0E2", 300)):
        answer = http.post(MUSIC, content=b'{"duration": ' + raw + b', "style": {"prompt": "x"}}', headers=JSON)
        assert answer.status_code == 200, answer.text
        assert answer.json()["credits_charged"] == charge


def test_unknown_fields_are_accepted_and_ignored(fake: Control, http: httpx.Client) -> None:
    extra = {"unknown": 1, "nested": {"deep": [1, "two", None]}, "speed": 1.5}
    for path, expected in ((VOICE, 1), (CLONER, 1), (MUSIC, 15)):
        valid = VALID[path]
        body = {**valid, **extra, "style": {**valid["style"], **extra}}
        if path == CLONER:
            body["assets"] = {**valid["assets"], **extra}
        answer = http.post(path, json=body)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["credits_charged"] == expected
        project = http.get(f"/v1/audio-projects/{answer.json()['id']}").json()
        assert project["name"] == "n"
        assert not set(extra) & set(project)
    answer = http.post(UPLOADS, json={"items": [{"type": "audio", "extension": "wav", **extra}], **extra})
    assert answer.status_code == 200
    assert set(answer.json()) == {"items"}
    assert set(answer.json()["items"][0]) == {"upload_url", "expires_at", "file_path"}


EMPTY_STRINGS = [
    (VOICE, ("name",), 200),
    (VOICE, ("style", "prompt"), "style.prompt must not be empty"),
    (VOICE, ("style", "voice_name"), "Invalid value for style.voice_name: '' is not one of the 1266 allowed values"),
    (CLONER, ("name",), 200),
    (CLONER, ("assets", "audio_file_path"), "assets.audio_file_path must not be empty"),
    (CLONER, ("style", "prompt"), "style.prompt must not be empty"),
    (MUSIC, ("name",), 200),
    (MUSIC, ("style", "prompt"), 200),  # no minLength in the contract
    (MUSIC, ("style", "lyrics"), 200),  # "leave blank for AI-generated lyrics"
    (UPLOADS, ("items", 0, "type"), "Invalid value for items[0].type: '' is not one of 'video', 'audio', 'image'"),
    (UPLOADS, ("items", 0, "extension"), "Invalid value for items[0].extension: '' does not match ^[a-z0-9]+$"),
]
"""Each string field set to "": 200 where the contract allows it, else the 400 message."""


def test_empty_strings(fake: Control, http: httpx.Client, before: tuple[Any, ...]) -> None:
    for path, where, expected in EMPTY_STRINGS:
        if expected == 200:
            continue
        answer = http.post(path, json=_replaced(VALID[path], where, ""))
        assert _error(answer, 400) == {"code": "invalid_request", "message": expected}
    assert _state(fake) == before
    for path, where, expected in EMPTY_STRINGS:
        if expected != 200:
            continue
        answer = http.post(path, json=_replaced(VALID[path], where, ""))
        assert answer.status_code == 200, (path, where, answer.text)
        if where == ("name",):
            assert http.get(f"/v1/audio-projects/{answer.json()['id']}").json()["name"] == ""


UNICODE_PROMPTS = [
    "😀" * 21,  # 21 code points → 3 credits (UTF-16 units: 5, bytes: 9)
    "👨\u200d👩\u200d👧\u200d👦" * 3,  # 21 code points → 3 (graphemes: 1)
    "e\u0301" * 10,  # 20 code points → 2 (graphemes: 1)
    "日本語のテキストです",  # 10 → 1
    "".join(map(chr, range(0x1D56C, 0x1D580))),  # 20 astral letters (MATHEMATICAL BOLD FRAKTUR) → 2
    "\u0000\u0001\u001f tabs\tand\nnewlines",
    "\u202eright-to-left override",
    "\ufeffbyte order mark inside",
]


def test_non_ascii_and_emoji_prompts_are_accepted_and_charged_per_code_point(fake: Control, http: httpx.Client) -> None:
    credits = http.get("/v1/account").json()["credits"]
    spent = 0
    for prompt in UNICODE_PROMPTS:
        charge = math.ceil(len(prompt) / 10)
        for path, body in (
            (VOICE, {"name": prompt, "style": {"prompt": prompt, "voice_name": "Elon Musk"}}),
            (CLONER, {"name": prompt, "assets": VALID[CLONER]["assets"], "style": {"prompt": prompt}}),
        ):
            for ascii_only in (True, False):  # \u-escaped and raw UTF-8 are the same text
                raw = json.dumps(body, ensure_ascii=ascii_only).encode()
                answer = http.post(path, content=raw, headers=JSON)
                assert answer.status_code == 200, answer.text
                assert answer.json()["credits_charged"] == charge, (prompt, path)
                spent += charge
                project = http.get(f"/v1/audio-projects/{answer.json()['id']}").json()
                assert project["name"] == prompt
        music = http.post(MUSIC, json={"duration": 20, "name": prompt, "style": {"prompt": prompt, "lyrics": prompt}})
        assert music.json()["credits_charged"] == 20
        spent += 20
    assert http.get("/v1/account").json()["credits"] == credits - spent


@pytest.mark.parametrize(
    ("path", "where"),
    [(VOICE, ("name",)), (MUSIC, ("style", "lyrics"))],
    ids=["echoed-name", "unknown-to-the-answers"],
)
def test_a_lone_surrogate_is_refused_or_survives_the_round_trip(
    fake: Control, http: httpx.Client, path: str, where: tuple[Any, ...]
) -> None:
    raw = json.dumps(_replaced(VALID[path], where, "\ud800")).encode()  # ensure_ascii: the escape "\ud800"
    assert b"\\ud800" in raw
    try:
        answer = http.post(path, content=raw, headers=JSON)
        if answer.status_code >= 400:
            _error(answer)
            return
        got = http.get(f"/v1/audio-projects/{answer.json()['id']}")
        assert got.status_code == 200, got.text[:200]
        journal = http.get("/mh-mock-api/journal")  # the admin API serialises every body
        assert journal.status_code == 200, journal.text[:200]
    finally:
        fake.reset()  # the journal must not keep the surrogate for the fixture's contract check


def test_a_trailing_newline_does_not_satisfy_the_extension_pattern(http: httpx.Client) -> None:
    answer = http.post(UPLOADS, json={"items": [{"type": "audio", "extension": "wav\n"}]})
    assert _error(answer)["message"].startswith("Invalid value for items[0].extension"), answer.text


# ---------------------------------------------------------------------------- storage paths


def _send(fake: Control, method: str, target: str, body: bytes = b"") -> tuple[int, str, bytes]:
    """Send ``target`` (path + query, exactly as written) to the storage host of ``fake``.

    Standalone, the request line carries ``target`` byte for byte (http.client, no normalising).
    In-process, it goes through httpx like any client: httpx removes literal ``.``/``..`` segments
    before respx sees the request, and keeps percent-escapes.
    """
    storage = fake.engine.config.storage_url
    parts = urlsplit(storage)
    if parts.scheme == "http":
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            connection.request(method, target, body=body)
            answer = connection.getresponse()
            return answer.status, answer.getheader("content-type") or "", answer.read()
        finally:
            connection.close()
    with httpx.Client() as client:  # pragma: no branch
        response = client.request(method, storage + target, content=body)
    return response.status_code, response.headers.get("content-type", ""), response.content


def _refused(fake: Control, method: str, target: str, body: bytes = b"") -> None:
    status, content_type, content = _send(fake, method, target, body)
    assert 400 <= status < 500, (method, target[:100], status, content[:200])
    assert content_type == "application/json", (method, target[:100], content_type)
    error = json.loads(content)
    assert set(error) == {"code", "message"}, error


def _odd_paths(asset: str, name: str, query: str) -> list[str]:
    return [
        "/api-assets/../../etc/passwd",
        f"/api-assets/{asset}/../../etc/passwd?{query}",
        "/api-assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        f"/api-assets/%2e%2e/{name}?{query}",
        f"/api-assets/{asset}/%2e%2e%2f{name}?{query}",
        f"/api-assets/{asset}/..%2f..%2f{name}?{query}",
        f"/api-assets/%2e%2e%2f{asset}/{name}?{query}",
        f"/api-assets//{asset}/{name}?{query}",
        f"/api-assets/{asset}//{name}?{query}",
        f"/api-assets///{name}?{query}",
        f"/api-assets/{asset}/{name}%00?{query}",
        f"/api-assets/{asset}%00/{name}?{query}",
        f"/api-assets/{asset}/{name}%00.wav?{query}",
        f"/api-assets/{asset}/{name}?auth-value=%00",
        f"/api-assets/{asset}/{name}?auth-value=",
        f"/api-assets/{asset}/{name}",
        f"/api-assets/{asset}/{name.upper()}?{query}",
        f"/API-ASSETS/{asset}/{name}?{query}",
        f"/api-assets/{asset}/{name}/extra?{query}",
        f"/api-assets/{'a' * 10_000}/{name}?{query}",
        f"/api-assets/{asset}/{'n' * 10_000}.wav?{query}",
        "/api-assets/" + "x/" * 2_000 + name,
    ]


def test_odd_upload_paths_are_4xx_json_and_store_nothing(fake: Control, http: httpx.Client) -> None:
    (item,) = http.post(UPLOADS, json=VALID[UPLOADS]).json()["items"]
    _, asset, name = item["file_path"].split("/")
    query = urlsplit(item["upload_url"]).query
    for target in _odd_paths(asset, name, query):
        _refused(fake, "PUT", target, render_wav("x", 0.1))
        _refused(fake, "GET", target)
    assert uploaded(fake.engine, item["file_path"]) is None
    clone = http.post(CLONER, json={"assets": {"audio_file_path": item["file_path"]}, "style": {"prompt": "hi"}})
    fake.finish(clone.json()["id"])
    assert fake.project(clone.json()["id"])["error"]["code"] == "invalid_parameters"


def test_an_extra_leading_or_trailing_slash_is_not_the_upload_path(fake: Control, http: httpx.Client) -> None:
    (item,) = http.post(UPLOADS, json=VALID[UPLOADS]).json()["items"]
    _, asset, name = item["file_path"].split("/")
    query = urlsplit(item["upload_url"]).query
    for target in (f"//api-assets/{asset}/{name}?{query}", f"/api-assets/{asset}/{name}/?{query}"):
        _refused(fake, "PUT", target, render_wav("x", 0.1))
    assert uploaded(fake.engine, item["file_path"]) is None


def test_odd_download_paths_are_4xx_json(fake: Control, http: httpx.Client) -> None:
    project_id = http.post(VOICE, json=VALID[VOICE]).json()["id"]
    fake.finish(project_id)
    (download,) = http.get(f"/v1/audio-projects/{project_id}").json()["downloads"]
    url = urlsplit(download["url"])
    query = url.query
    _, _, _, name = url.path.split("/")
    for target in [
        "/outputs/../../etc/passwd",
        f"/outputs/{project_id}/../../etc/passwd?{query}",
        f"/outputs/%2e%2e/{name}?{query}",
        f"/outputs/{project_id}/%2e%2e%2f{name}?{query}",
        f"/outputs/{project_id}/..%2f..%2fetc%2fpasswd?{query}",
        f"/outputs//{project_id}/{name}?{query}",
        f"/outputs/{project_id}//{name}?{query}",
        f"/outputs/{project_id}/{name}%00?{query}",
        f"/outputs/{project_id}%00/{name}?{query}",
        f"/outputs/{project_id}/{name}?{query}%00",
        f"/outputs/{project_id}/{name}?expires=%00&signature=%00",
        f"/outputs/{project_id}/{name}?expires=-1&signature=x",
        f"/outputs/{project_id}/{name}?expires=1e99&signature=x",
        f"/outputs/{project_id}/{name}",
        f"/outputs/{project_id}/{name.upper()}?{query}",
        f"/outputs/{'a' * 10_000}/{name}?{query}",
        "/outputs/" + "x/" * 2_000 + name,
    ]:
        _refused(fake, "GET", target)
        _refused(fake, "PUT", target, b"overwrite")
    with httpx.Client() as storage:
        assert storage.get(download["url"]).content[:4] == b"RIFF"  # the real URL still works


@pytest.mark.parametrize("expires", ["9" * 5000, "%C2%B2"], ids=["5000-digits", "superscript-two"])
def test_an_absurd_expires_on_a_download_url_is_404(fake: Control, http: httpx.Client, expires: str) -> None:
    project_id = http.post(VOICE, json=VALID[VOICE]).json()["id"]
    fake.finish(project_id)
    _refused(fake, "GET", f"/outputs/{project_id}/output.wav?expires={expires}&signature=x")


# ---------------------------------------------------------------------------- the admin API


ADMIN_BAD_VALUES = [
    ("POST", "/mh-mock-api/clock/advance", b'{"seconds": "10"}'),
    ("POST", "/mh-mock-api/clock/advance", b'{"seconds": -1}'),
    ("POST", "/mh-mock-api/clock/advance", b'{"seconds": 1e309}'),
    ("POST", "/mh-mock-api/clock/advance", b'{"seconds": 1e300}'),
    ("PUT", "/mh-mock-api/progression", b'{"progression": "fast"}'),
    ("POST", "/mh-mock-api/reset", b'{"no_such_option": 1}'),
    ("POST", "/mh-mock-api/reset", b'{"progression": "fast"}'),
    ("POST", "/mh-mock-api/reset", b'{"timings": 5}'),
    ("POST", "/mh-mock-api/reset", b'{"timings": {"voice_generator": [1]}}'),
    ("POST", "/mh-mock-api/reset", b'{"seed": [1]}'),
    ("POST", "/mh-mock-api/reset", b'{"start_time": "x"}'),
    ("POST", "/mh-mock-api/reset", b'{"start_time": 1e300}'),
    ("POST", "/mh-mock-api/reset", b'{"voice_credit_rate": "abc"}'),
    ("POST", "/mh-mock-api/reset", b'{"starting_balance": -1}'),
    ("POST", "/mh-mock-api/projects", b'{"token": "t", "endpoint": "music_generator", "duration": -5}'),
    ("POST", "/mh-mock-api/projects", b'{"token": "t", "endpoint": "sound_effects"}'),
    ("POST", "/mh-mock-api/accounts", b'{"token": "t", "credits": -5}'),
    ("PUT", f"/mh-mock-api/accounts/{TOKEN}/credits", b'{"credits": -5}'),
    ("POST", "/mh-mock-api/clock/advance", b"[" * 100_000),
    ("POST", "/mh-mock-api/clock/advance", b"\xff"),
    ("POST", "/mh-mock-api/reset", b'{"max_body_bytes": "x"}'),
    ("POST", "/mh-mock-api/reset", b'{"speech_chars_per_second": 0}'),
    ("POST", "/mh-mock-api/reset", b'{"download_ttl": null}'),
    ("POST", "/mh-mock-api/reset", b'{"journal_limit": -1}'),
    ("POST", "/mh-mock-api/reset", b'{"failure_ratio": 2}'),
    ("POST", "/mh-mock-api/reset", b'{"accounts": {"x": -1}}'),
    ("POST", "/mh-mock-api/reset", b'{"strict_auth": "yes"}'),
    ("POST", "/mh-mock-api/scenarios", b'{"ratio": "abc"}'),
    ("POST", "/mh-mock-api/scenarios", b'{"ratio": 0.5, "codes": "ab"}'),
    ("POST", "/mh-mock-api/scenarios", b'{"ratio": 0.5, "codes": 5}'),
    ("POST", "/mh-mock-api/scenarios", b'{"outcome": "error", "prompt_contains": 5}'),
    ("POST", "/mh-mock-api/scenarios", b'{"outcome": {"bogus": 1}}'),
    ("POST", "/mh-mock-api/scenarios", b'{"outcome": "error", "timing": [1]}'),
    ("POST", "/mh-mock-api/faults", b'{"kind": "reset", "route": 5}'),
    ("POST", "/mh-mock-api/faults", b'{"kind": "latency", "seconds": "x"}'),
    ("POST", "/mh-mock-api/faults", b'{"kind": "rate_limit", "retry_after": "x"}'),
    ("POST", "/mh-mock-api/faults", b'{"kind": "reset", "nth": true}'),
    ("POST", "/mh-mock-api/webhooks", b'{"url": "ftp://x", "secret": "s"}'),
    ("POST", "/mh-mock-api/webhooks", b'{"url": "https://x", "secret": "s", "events": ["audio.done"]}'),
]
"""Control calls with impossible values: each should be a 4xx that changes nothing."""


def test_the_admin_api_refuses_impossible_values_with_a_4xx_and_changes_nothing(
    fake: Control, http: httpx.Client
) -> None:
    assert http.get("/v1/account").status_code == 200
    try:
        before = (fake.state(), _state(fake))
        problems: list[tuple[Any, ...]] = []
        for method, path, raw in ADMIN_BAD_VALUES:
            answer = http.request(method, path, content=raw, headers=JSON)
            if not 400 <= answer.status_code < 500 or answer.headers.get("content-type") != "application/json":
                problems.append((method, path, raw[:60], answer.status_code, answer.text[:120]))
            try:
                now: Any = (fake.state(), _state(fake))
            except ControlError as error:
                now = f"left the fake broken: {error}"
            if now != before:
                problems.append((method, path, raw[:60], "changed the state" if isinstance(now, tuple) else now))
                fake.reset()
                http.get("/v1/account")
                before = (fake.state(), _state(fake))
        assert not problems, "\n".join(map(str, problems))
    finally:
        fake.reset()  # a clock moved to 1e300 would break the fixture's journal check
