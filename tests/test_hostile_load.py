"""Hostile load on ``mh-mock serve``: the memory bounds hold, bad settings are 4xx, secrets stay off ``ps``.

Each test reproduces an issue at a smaller but still telling scale against a real server
subprocess (tests/serving.py) and measures its resident memory (VmRSS), never time.

- big uploads are hashed as they stream in: 30 x 50 MiB PUTs leave the server where it was;
- the journal keeps JSON bodies as bytes (≤ 8 KiB), not parsed objects, and a reset frees them;
- downloads stream with backpressure: 100 clients that never read a 28.8 MB WAV hold no copies of it;
- settings and seeds that would crash or blow up the fake are refused (400, or exit status 2);
- secrets can come from files, so they never show in ``ps``;
- ``serve --help`` states the timeouts' defaults.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .serving import Served, serving

MB = 1_000_000
MIB = 1024 * 1024
TOKEN = "mhk_test_hostile"
VOICE = {"style": {"prompt": "Hello there", "voice_name": "Elon Musk"}}


def _api(served: Served, token: str = TOKEN, timeout: float = 60) -> httpx.Client:
    return httpx.Client(base_url=served.url, headers={"authorization": f"Bearer {token}"}, timeout=timeout)


def _admin(http: httpx.Client, method: str, path: str, body: Any = None, token: str | None = None) -> httpx.Response:
    headers = {"content-type": "application/json"} if method != "GET" else {}
    if token is not None:
        headers["x-mh-mock-admin-token"] = token
    content = None if method == "GET" else json.dumps({} if body is None else body).encode()
    return http.request(method, f"/mh-mock-api{path}", content=content, headers=headers)


def _rss(served: Served, samples: int = 1, every: float = 0.3) -> int:
    """The largest of ``samples`` readings of the server's RSS, ``every`` seconds apart."""
    readings = []
    for index in range(samples):
        if index:
            time.sleep(every)
        readings.append(served.rss_bytes())
    return max(readings)


def _filler(size: int, chunk: int = MIB) -> Iterator[bytes]:
    """``size`` bytes in ``chunk``-sized pieces (a RIFF header first), never all in memory."""
    block = (bytes(range(256)) * (chunk // 256 + 1))[:chunk]
    sent = 0
    while sent < size:
        piece = block[: min(chunk, size - sent)]
        if sent == 0:
            piece = b"RIFF" + piece[4:]
        sent += len(piece)
        yield piece


def _upload_urls(http: httpx.Client, count: int) -> list[str]:
    urls: list[str] = []
    while len(urls) < count:
        answer = http.post("/v1/files/upload-urls", json={"items": [{"type": "audio", "extension": "wav"}]})
        assert answer.status_code == 200, answer.text
        urls.extend(item["upload_url"] for item in answer.json()["items"])
    return urls


# ------------------------------------------------------------------------------------------ 1. uploads


@pytest.mark.slow
def test_many_large_uploads_leave_the_server_small() -> None:
    """Issue: 30 upload URLs x 50 MiB PUT from one token took the server from 53 MB to 1.7 GB, for good."""
    size = 50 * MIB
    with serving() as served, _api(served) as http:
        urls = _upload_urls(http, 30)
        http.put(urls[0], content=b"RIFF warm-up")  # the code paths of an upload, loaded once
        before = _rss(served)
        peak = before
        for url in urls:
            answer = http.put(url, content=_filler(size), headers={"content-length": str(size)})
            assert answer.status_code == 200, answer.text
            peak = max(peak, _rss(served))
        after = _rss(served, samples=3)
        journal = _admin(http, "GET", "/journal?route=storage.*&limit=1").json()
    assert journal[-1]["body"]["bytes"] == size  # what it keeps of the file: its size and digest
    assert len(journal[-1]["body"]["sha256"]) == 64
    growth = after - before
    print(f"RSS before {before / MB:.0f} MB, peak {peak / MB:.0f} MB, after 30 x 50 MiB {after / MB:.0f} MB")
    assert peak - before < 100 * MB, f"an upload took {(peak - before) / MB:.0f} MB while it streamed in"
    assert growth < 100 * MB, f"30 uploads of 50 MiB kept {growth / MB:.0f} MB"


@pytest.mark.slow
def test_an_upload_of_exactly_the_limit_passes_and_one_byte_more_is_413() -> None:
    with serving("--max-upload-bytes", "1000") as served, _api(served) as http:
        at, over, streamed = _upload_urls(http, 3)
        assert http.put(at, content=b"RIFF" + b"x" * 996).status_code == 200
        refused = http.put(over, content=b"RIFF" + b"x" * 997)
        assert refused.status_code == 413, refused.text
        # without a Content-Length (chunked), refused as the 1001st byte streams in
        refused = http.put(streamed, content=_filler(1001, chunk=100))
        assert refused.status_code == 413, refused.text
        assert http.put(streamed, content=_filler(1000, chunk=100)).status_code == 200


# ------------------------------------------------------------------------------------------ 2. journal


def _padded(size: int) -> bytes:
    """A valid voice-generator body of about ``size`` bytes, padded with a list of empty objects."""
    head = json.dumps({**VOICE, "name": "padded"}, separators=(",", ":"))[:-1] + ',"pad":['
    count = (size - len(head) - 2) // 3
    return (head + ",".join(["{}"] * count) + "]}").encode()


def _empties(size: int) -> bytes:
    """``[{},{},…]`` of about ``size`` bytes: JSON the API refuses (400: not an object)."""
    return ("[" + ",".join(["{}"] * ((size - 1) // 3)) + "]").encode()


def _journal_round(http: httpx.Client, accepted: int, refused: int, accepted_body: bytes, refused_body: bytes) -> None:
    headers = {"content-type": "application/json"}
    for _ in range(accepted):
        assert http.post("/v1/ai-voice-generator", content=accepted_body, headers=headers).status_code == 200
    for _ in range(refused):
        assert http.post("/v1/ai-voice-generator", content=refused_body, headers=headers).status_code == 400


@pytest.mark.slow
def test_the_journal_keeps_bodies_as_text_and_a_reset_frees_them() -> None:
    """Issue: the journal keeps parsed JSON: 10,000 creates with 8 KiB bodies of ``[{},{},…]``.

    A padded create is 8 KiB of text but ~2,700 objects once parsed (some 200 KB): kept parsed,
    4,000 of them would be ~0.8 GB. Kept as text, they are ~33 MB.
    """
    accepted_body, refused_body = _padded(8 * 1024 - 10), _empties(8 * 1024 + 10)
    assert len(accepted_body) <= 8 * 1024 < len(refused_body)
    accepted, refused = 4_000, 1_000
    with serving("--frozen-clock") as served, _api(served) as http:
        _journal_round(http, 20, 20, accepted_body, refused_body)  # warm up
        assert _admin(http, "POST", "/reset").status_code == 200

        kept = _admin(http, "GET", "/journal").json()
        assert kept == []
        _journal_round(http, 1, 1, accepted_body, refused_body)
        create, refusal = _admin(http, "GET", "/journal").json()
        assert create["status"] == 200 and create["body"] == json.loads(accepted_body)  # kept whole, as text
        assert refusal["status"] == 400 and refusal["body"]["bytes"] == len(refused_body)  # a refused body: its size
        assert len(refusal["body"]["prefix"]) <= 200  # and a prefix

        before = _rss(served)
        _journal_round(http, accepted, refused, accepted_body, refused_body)
        first = _rss(served, samples=2)
        assert _admin(http, "GET", "/state").json()["projects"] == accepted + 1
        assert _admin(http, "POST", "/reset").status_code == 200
        assert _admin(http, "GET", "/journal?limit=5").json() == []
        freed = _rss(served, samples=2)
        _journal_round(http, accepted, refused, accepted_body, refused_body)
        second = _rss(served, samples=2)
    print(f"RSS before {before / MB:.0f} MB, after {accepted + refused} calls {first / MB:.0f} MB, "
          f"after the reset {freed / MB:.0f} MB, after a second round {second / MB:.0f} MB")  # fmt: skip
    assert first - before < 150 * MB, f"{accepted} padded creates kept {(first - before) / MB:.0f} MB"
    assert second - first < 30 * MB, f"the reset did not free the first round: {(second - first) / MB:.0f} MB more"


# ------------------------------------------------------------------------------------------ 3. downloads


def _music_download(http: httpx.Client, token: str, duration: int) -> str:
    project = _admin(http, "POST", "/projects", {"token": token, "endpoint": "music_generator", "duration": duration})
    assert project.status_code == 200, project.text
    project_id = project.json()["id"]
    assert _admin(http, "POST", f"/projects/{project_id}/finish").status_code == 200
    read = http.get(f"/v1/audio-projects/{project_id}", headers={"authorization": f"Bearer {token}"})
    assert read.status_code == 200 and read.json()["status"] == "complete", read.text
    url: str = read.json()["downloads"][0]["url"]
    return url


@pytest.mark.slow
def test_clients_that_never_read_a_long_download_hold_no_copies_of_it() -> None:
    """Issue: 100 connections requesting a 28.8 MB WAV (3600 s of music) and not reading held 2.9 GB."""
    with serving("--frozen-clock") as served, httpx.Client(base_url=served.url, timeout=60) as http:
        url = _music_download(http, "t", 3600)
        path = url[len(served.url) :]
        assert path.startswith("/")
        with http.stream("GET", path) as warm:  # the code paths of a download, loaded once
            size = int(warm.headers["content-length"])
            assert next(warm.iter_bytes())[:4] == b"RIFF"
        assert size > 28 * MB
        before = _rss(served, samples=2)
        stalled: list[socket.socket] = []
        try:
            for _ in range(100):
                client = socket.create_connection(("127.0.0.1", served.port))
                client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n\r\n".encode())
                stalled.append(client)
            time.sleep(1)
            held = _rss(served, samples=6, every=0.5)
            assert served.process.poll() is None
            for client in stalled:  # every one was answered: the server is sending, they are not reading
                client.settimeout(10)
                assert client.recv(12, socket.MSG_PEEK) == b"HTTP/1.1 200"
            # meanwhile a client that reads gets the whole file
            with http.stream("GET", path) as answer:
                assert answer.status_code == 200
                digest, got, first = hashlib.sha256(), 0, b""
                for chunk in answer.iter_bytes():
                    first = first or chunk[:12]
                    digest.update(chunk)
                    got += len(chunk)
            assert got == size and first[:4] == b"RIFF" and first[8:12] == b"WAVE"
        finally:
            for client in stalled:
                client.close()
    growth = held - before
    print(f"RSS before {before / MB:.0f} MB, with 100 stalled downloads of {size / MB:.1f} MB {held / MB:.0f} MB")
    assert growth < 150 * MB, f"100 stalled downloads held {growth / MB:.0f} MB"


# ------------------------------------------------------------------------------------------ 6. bad settings


def _nested(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for _ in range(depth):
        document = {"a": document}
    return document


@pytest.mark.slow
def test_bad_seeds_and_speech_rates_are_400_never_500() -> None:
    """Issue: a seed nested ~490 levels gave 500 (RecursionError); speech_chars_per_second 1e-300 a 500
    (OverflowError) on download, 1e-6 a MemoryError, 0.001 an 88 MB download."""
    with serving("--frozen-clock") as served, _api(served) as http:
        deep = _admin(http, "POST", "/reset", {"preload": _nested(490)})
        assert deep.status_code == 400, deep.text
        assert "preload" in deep.json()["message"] and "deep" in deep.json()["message"]
        as_text = _admin(http, "POST", "/reset", {"preload": json.dumps(_nested(490))})
        assert 400 <= as_text.status_code < 500, as_text.text
        # nesting in an API body is refused too (a RecursionError would be a 500)
        for depth in (490, 5_000, 100_000):
            body = ('{"pad":' * depth + "1" + "}" * depth).encode()
            deep_body = http.post("/v1/ai-voice-generator", content=body, headers={"content-type": "application/json"})
            assert 400 <= deep_body.status_code < 500, (depth, deep_body.text)

        for rate in (1e-300, 1e-6, 0.001, 0.0, -1.0):
            refused = _admin(http, "POST", "/reset", {"speech_chars_per_second": rate})
            assert refused.status_code == 400, (rate, refused.text)
            assert "speech_chars_per_second" in refused.json()["message"]

        # the slowest rate accepted: the longest prompt renders at most 3600 s of audio
        accepted = _admin(http, "POST", "/reset", {"speech_chars_per_second": 0.1})
        assert accepted.status_code == 200, accepted.text
        created = http.post("/v1/ai-voice-generator", json={"style": {"prompt": "x" * 1000, "voice_name": "Elon Musk"}})
        assert created.status_code == 200, created.text
        project_id = created.json()["id"]
        assert _admin(http, "POST", f"/projects/{project_id}/finish").status_code == 200
        project = http.get(f"/v1/audio-projects/{project_id}").json()
        assert project["status"] == "complete", project
        with http.stream("GET", project["downloads"][0]["url"]) as download:
            assert download.status_code == 200
            size = int(download.headers["content-length"])
            got = sum(len(chunk) for chunk in download.iter_bytes())
        music = _music_download(http, TOKEN, 3600)
        with http.stream("GET", music) as longest:
            longest_size = int(longest.headers["content-length"])
        print(f"1000 characters at 0.1 per second: {size / MB:.1f} MB; 3600 s of music: {longest_size / MB:.1f} MB")
        assert got == size <= longest_size  # capped at 3600 s, like the longest music
        assert longest_size < 30 * MB
        for call in _admin(http, "GET", "/journal").json():
            assert call["status"] < 500, call


def test_serve_refuses_a_speech_rate_that_would_blow_up_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mh_mock", "serve", "--port", "0", "--speech-chars-per-second", "1e-300"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "speech_chars_per_second" in lines[0], done.stderr


# ------------------------------------------------------------------------------------------ 7. secrets


def _cmdline(served: Served) -> str:
    return Path(f"/proc/{served.process.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _ps() -> str:
    return subprocess.run(["ps", "-eo", "pid,args", "-ww"], capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_the_admin_token_from_a_file_is_required_and_never_on_the_command_line(tmp_path: Path) -> None:
    secret = "adm-" + os.urandom(12).hex()
    token_file = tmp_path / "admin-token"
    token_file.write_text(secret + "\n")
    with serving("--admin-token-file", str(token_file)) as served, httpx.Client(base_url=served.url) as http:
        assert _admin(http, "GET", "/state").status_code == 403
        assert _admin(http, "GET", "/state", token=secret[:-1]).status_code == 403
        assert _admin(http, "GET", "/state", token="wrong").status_code == 403
        assert _admin(http, "GET", "/state", token=secret).status_code == 200
        assert _admin(http, "POST", "/reset", token=secret).status_code == 200
        assert secret not in _cmdline(served)
        assert str(token_file) in _cmdline(served)
        assert secret not in _ps()


@pytest.mark.slow
def test_the_signing_secret_from_a_file_signs_urls_and_never_shows_on_the_command_line(tmp_path: Path) -> None:
    secret = "sig-" + os.urandom(12).hex()
    secret_file = tmp_path / "signing-secret"
    secret_file.write_text(secret + "\n")
    with serving("--signing-secret-file", str(secret_file)) as served, _api(served) as http:
        answer = http.post("/v1/files/upload-urls", json={"items": [{"type": "audio", "extension": "wav"}]})
        item = answer.json()["items"][0]
        auth = re.search(r"auth-value=([0-9a-f]+)", item["upload_url"])
        assert auth is not None
        expected = hmac.new(secret.encode(), ("upload\x1f" + item["file_path"]).encode(), hashlib.sha256)
        assert auth.group(1) == expected.hexdigest()[:32]  # signed with the file's secret, newline dropped
        assert secret not in _cmdline(served)
        assert secret not in _ps()


@pytest.mark.parametrize("option", ["--admin-token-file", "--signing-secret-file"])
@pytest.mark.parametrize("content", [None, "", "\n"])
def test_a_missing_or_empty_secret_file_exits_2_in_one_line(tmp_path: Path, option: str, content: str | None) -> None:
    path = tmp_path / "secret"
    if content is not None:
        path.write_text(content)
    done = subprocess.run(
        [sys.executable, "-m", "mh_mock", "serve", "--port", "0", option, str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in done.stderr, done.stderr


# ------------------------------------------------------------------------------------------ 8. one default


def test_serve_help_states_the_timeouts_defaults() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mh_mock", "serve", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    text = " ".join(done.stdout.split())
    head = re.search(r"--head-timeout SECONDS (.*?)\(default: ([^)]*)\)", text)
    body = re.search(r"--body-timeout SECONDS (.*?)\(default: ([^)]*)\)", text)
    assert head is not None and head.group(2) == "5.0", text
    assert body is not None and body.group(2) == "10.0", text


def test_the_documentation_states_the_same_timeouts_as_serve_help() -> None:
    """Every option table of the documentation that lists a timeout gives serve --help's default."""
    root = Path(__file__).parent.parent
    documented: dict[str, set[float]] = {"--head-timeout": set(), "--body-timeout": set()}
    for page in [root / "README.md", *sorted((root / "docs").rglob("*.md"))]:
        for name, value in re.findall(
            r"^\| `(--(?:head|body)-timeout) SECONDS` \| `([^`]*)` \|", page.read_text("utf-8"), re.M
        ):
            documented[name].add(float(value))
    assert documented == {"--head-timeout": {5.0}, "--body-timeout": {10.0}}
