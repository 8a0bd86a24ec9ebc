"""Concurrency: many clients at once lose nothing, duplicate nothing and keep every ledger exact.

(a) in-process and (b) standalone (the ``fake`` fixture runs both): eight threads, each with its
own httpx client, share one fake and run a seeded mix of 400 operations (create of all three
kinds, poll, delete, upload URL + PUT, download, foreign reads, clock moves). Afterwards:

- every 200 create in the journal is exactly one project, ids are unique and cuid-shaped, and
  each project belongs to the token that created it;
- every account balances exactly: starting credits - the ``credits_charged`` of its create
  answers + the charges of the projects that ended refunded (error, canceled) == credits, and the
  account's own ``charged`` / ``refunded`` counters agree;
- no answer was a 5xx, and no token ever saw another token's project.

(c) a sequential replay of the journal's successful creates, in journal order, on a fresh engine
with the same config and each project's observed outcome, ends with the same balances and
project counts per token.

(d) the last credits race: concurrent creates that together cost more than the balance never
overdraw it, and exactly as many succeed as the balance pays for.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx

from mh_mock.audio import render_wav
from mh_mock.config import Config
from mh_mock.control.remote import Control
from mh_mock.engine import Engine
from mh_mock.errors import InsufficientCredits
from mh_mock.journal import Call

from .engines import uploaded

THREADS = 8
OPS_PER_THREAD = 50
TOKENS = [f"mhk_live_concurrent_{n}" for n in range(4)]
CUID = re.compile(r"^c[0-9a-z]{24}$")
CREATE_ROUTES = ("voice_generator.create", "voice_cloner.create", "music_generator.create")
AUDIO = render_wav("concurrency", 0.5)

ALLOWED = {  # every status an operation may answer with under any interleaving
    "voice": {200},
    "music": {200},
    "clone": {200},
    "poll": {200},
    "delete": {204},
    "upload-urls": {200},
    "put": {200},
    "download": {200, 404},  # 404 once the project is deleted
    "foreign": {404},
    "account": {200},
}


class Worker:
    """One client thread: a seeded sequence of operations, remembering what it created."""

    def __init__(self, index: int, fake: Control, barrier: threading.Barrier) -> None:
        self.random = random.Random(index)
        self.fake = fake
        self.barrier = barrier
        self.created: list[tuple[str, str]] = []  # (token, project id)
        self.uploads: list[tuple[str, str]] = []  # (token, file_path) after a PUT
        self.urls: list[str] = []
        self.seen: Counter[tuple[str, int]] = Counter()
        self.peers: list[Worker] = []

    def run(self, peers: list[Worker]) -> None:
        self.peers = peers
        with httpx.Client(base_url=self.fake.api_url, timeout=30) as http:
            self.barrier.wait()
            for _ in range(OPS_PER_THREAD):
                op = self.random.choices(
                    ["voice", "music", "clone", "poll", "delete", "upload", "download", "foreign", "advance"],
                    weights=[4, 3, 3, 6, 2, 2, 3, 1, 1],
                )[0]
                getattr(self, f"_{op}")(http)

    def _record(self, op: str, answer: httpx.Response) -> httpx.Response:
        self.seen[(op, answer.status_code)] += 1
        assert answer.status_code in ALLOWED[op], f"{op}: {answer.status_code} {answer.text[:200]}"
        return answer

    def _headers(self, token: str | None = None) -> dict[str, str]:
        return {"authorization": f"Bearer {token or self.random.choice(TOKENS)}"}

    def _create(self, http: httpx.Client, op: str, path: str, body: dict[str, Any], token: str) -> None:
        answer = self._record(op, http.post(path, json=body, headers=self._headers(token)))
        self.created.append((token, answer.json()["id"]))

    def _voice(self, http: httpx.Client) -> None:
        length = 1001 if self.random.random() < 0.1 else self.random.randint(1, 60)  # 1001: job error
        body = {"style": {"prompt": "v" * length, "voice_name": "Elon Musk"}}
        self._create(http, "voice", "/v1/ai-voice-generator", body, self.random.choice(TOKENS))

    def _music(self, http: httpx.Client) -> None:
        body = {"duration": self.random.randint(15, 60), "style": {"prompt": "lofi"}}
        self._create(http, "music", "/v1/ai-music-generator", body, self.random.choice(TOKENS))

    def _clone(self, http: httpx.Client) -> None:
        token = self.random.choice(TOKENS)
        choices = [path for owner, path in self.uploads if owner == token] + ["https://example.com/voice.mp3", "nope"]
        body = {"assets": {"audio_file_path": self.random.choice(choices)}, "style": {"prompt": "clone me"}}
        self._create(http, "clone", "/v1/ai-voice-cloner", body, token)

    def _poll(self, http: httpx.Client) -> None:
        if not self.created:
            return self._account(http)
        token, project_id = self.random.choice(self.created)
        body = self._record("poll", http.get(f"/v1/audio-projects/{project_id}", headers=self._headers(token))).json()
        self.urls.extend(item["url"] for item in body["downloads"])
        return None

    def _delete(self, http: httpx.Client) -> None:
        if not self.created:
            return self._account(http)
        token, project_id = self.random.choice(self.created)
        self._record("delete", http.delete(f"/v1/audio-projects/{project_id}", headers=self._headers(token)))
        return None

    def _upload(self, http: httpx.Client) -> None:
        token = self.random.choice(TOKENS)
        answer = http.post(
            "/v1/files/upload-urls",
            json={"items": [{"type": "audio", "extension": "wav"}]},
            headers=self._headers(token),
        )
        (item,) = self._record("upload-urls", answer).json()["items"]
        self._record("put", http.put(item["upload_url"], content=AUDIO))
        self.uploads.append((token, item["file_path"]))

    def _download(self, http: httpx.Client) -> None:
        if not self.urls:
            return self._account(http)
        answer = self._record("download", http.get(self.random.choice(self.urls)))
        assert answer.status_code == 404 or answer.content[:4] == b"RIFF"
        return None

    def _foreign(self, http: httpx.Client) -> None:
        """Read a project of any thread (created concurrently) with a token that owns nothing: 404."""
        candidates = [item for peer in self.peers for item in list(peer.created)]
        if not candidates:
            return self._account(http)
        _, project_id = self.random.choice(candidates)
        headers = self._headers("mhk_live_stranger")
        self._record("foreign", http.get(f"/v1/audio-projects/{project_id}", headers=headers))
        return None

    def _account(self, http: httpx.Client) -> None:
        self._record("account", http.get("/v1/account", headers=self._headers()))

    def _advance(self, http: httpx.Client) -> None:
        self.fake.advance(self.random.choice([0.5, 1.0, 2.0]))


def _hammer(fake: Control) -> list[Worker]:
    barrier = threading.Barrier(THREADS)
    workers = [Worker(index, fake, barrier) for index in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(worker.run, workers) for worker in workers]:
            future.result()
    return workers


def _outcome(project: dict[str, Any]) -> str:
    if project["status"] == "error":
        return f"error:{project['error']['code']}"
    return str(project["status"])


def _check_final_state(fake: Control, workers: list[Worker], starting: int) -> None:
    fake.finish()  # settle every unfinished job, so each project has its final outcome
    calls = fake.journal.calls
    assert not [c for c in calls if c.status >= 500], "a 5xx under concurrency"
    creates = [c for c in calls if c.route in CREATE_ROUTES and c.status == 200]
    projects = {p["id"]: p for p in fake.projects()}
    ids = [c.response["id"] for c in creates]
    # nothing lost, nothing duplicated: one project per successful create, as the clients saw it
    assert len(ids) == len(set(ids)) == len(projects) == sum(len(w.created) for w in workers)
    assert set(ids) == set(projects) == {pid for w in workers for _, pid in w.created}
    assert all(CUID.match(pid) for pid in ids)
    for token in TOKENS:  # the exact ledger of every account
        account = fake.account(token)
        own = [c for c in _calls_of(fake, token) if c.route in CREATE_ROUTES and c.status == 200]
        assert all(projects[c.response["id"]]["account_id"] == account["id"] for c in own)
        charged = sum(c.response["credits_charged"] for c in own)
        mine = [projects[c.response["id"]] for c in own]
        for project, call in zip(mine, own, strict=True):
            refunded = project["status"] in ("error", "canceled")
            assert project["credits_charged"] == (0 if refunded else call.response["credits_charged"]), project
        refunds = sum(
            c.response["credits_charged"] for c in own if projects[c.response["id"]]["status"] in ("error", "canceled")
        )
        assert (account["charged"], account["refunded"]) == (charged, refunds), token
        assert account["credits"] == starting - charged + refunds, token
    statuses: Counter[int] = Counter()
    for worker in workers:
        for (_, status), count in worker.seen.items():
            statuses[status] += count
    assert statuses[200] > 100 and statuses.total() >= THREADS * OPS_PER_THREAD * 0.9, statuses


def _calls_of(fake: Control, token: str) -> list[Call]:
    """The calls ``token`` made (over HTTP the admin API shows a token whole only to who names it)."""
    return fake.journal.filter(token=token)


def test_concurrent_clients_lose_nothing_keep_exact_ledgers_and_match_a_sequential_replay(fake: Control) -> None:
    """(a) in-process over respx and (b) standalone over real sockets: the same 8 x 50 operations;
    then (c) the final state is the one a sequential replay of the journal reaches."""
    fake.reset(progression="clock", starting_balance=10_000)
    workers = _hammer(fake)
    seen = {op for w in workers for (op, _) in w.seen}
    assert {"voice", "music", "clone", "poll", "delete", "put", "download", "foreign"} <= seen, seen
    _check_final_state(fake, workers, 10_000)
    assert {p["status"] for p in fake.projects()} >= {"complete", "error", "canceled"}
    _assert_a_sequential_replay_matches(fake)


def _assert_a_sequential_replay_matches(fake: Control) -> None:
    """(c) replay each successful create, in journal order, on a fresh engine with the same config
    and each project's observed outcome: same balances, project counts and statuses per token."""
    config: Config = fake.engine.config  # type: ignore[attr-defined]
    projects = {p["id"]: p for p in fake.projects()}
    replay = Engine(config)

    def create(route: str, token: str, body: dict[str, Any], outcome: str) -> Any:
        style = body["style"]
        if route == "voice_generator.create":
            return replay.api.create(
                token,
                "voice_generator",
                prompt=style["prompt"],
                voice_name=style["voice_name"],
                name=body.get("name"),
                outcome=outcome,
            )
        if route == "voice_cloner.create":
            path = body["assets"]["audio_file_path"]
            return replay.api.create(
                token, "voice_cloner", audio_file_path=path, prompt=style["prompt"], outcome=outcome
            )
        return replay.api.create(
            token, "music_generator", duration=body["duration"], prompt=style["prompt"], outcome=outcome
        )

    creates = sorted((c for t in TOKENS for c in _calls_of(fake, t)), key=lambda c: c.seq)
    for call in creates:
        if call.route in CREATE_ROUTES and call.status == 200 and call.token is not None:
            observed = projects[call.response["id"]]
            try:
                made = create(call.route, call.token, call.body, _outcome(observed))
            except InsufficientCredits:  # pragma: no cover - the balances are far from empty
                raise AssertionError(f"the replay ran out of credits at journal call {call.seq}") from None
            assert made.charge == call.response["credits_charged"]
            replay.controls.finish(made.id)
            assert made.status == observed["status"]
    for token in TOKENS:
        live = fake.projects(token)
        replayed = replay.controls.projects(token)
        assert len(replayed) == len(live), token
        assert Counter(p.status for p in replayed) == Counter(p["status"] for p in live), token
        assert replay.accounts.account(token).credits == fake.balance(token), token
        assert sum(p.credits_charged for p in replayed) == sum(p["credits_charged"] for p in live), token


def test_racing_for_the_last_credits_never_overdraws(fake: Control) -> None:
    """(d) 8 threads x 4 creates of 15 credits against a balance of 100: exactly 6 succeed."""
    token = "mhk_live_poor"
    fake.add_account(token, 100)
    barrier = threading.Barrier(THREADS)

    def spend(_: int) -> list[int]:
        with httpx.Client(base_url=fake.api_url, headers={"authorization": f"Bearer {token}"}, timeout=30) as http:
            barrier.wait()
            body = {"duration": 15, "style": {"prompt": "race"}}
            return [http.post("/v1/ai-music-generator", json=body).status_code for _ in range(4)]

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = Counter(s for result in pool.map(spend, range(THREADS)) for s in result)
    assert statuses == {200: 6, 402: THREADS * 4 - 6}
    assert fake.balance(token) == 10
    assert len(fake.projects(token)) == 6


def test_upload_urls_issued_concurrently_are_distinct_and_each_put_lands_in_its_own_slot(fake: Control) -> None:
    token = TOKENS[0]
    barrier = threading.Barrier(THREADS)

    def upload(index: int) -> list[tuple[str, bytes]]:
        stored = []
        with httpx.Client(base_url=fake.api_url, headers={"authorization": f"Bearer {token}"}, timeout=30) as http:
            barrier.wait()
            for n in range(5):
                answer = http.post("/v1/files/upload-urls", json={"items": [{"type": "audio", "extension": "wav"}] * 3})
                for item in answer.json()["items"]:
                    data = render_wav(f"{index}-{n}-{item['file_path']}", 0.1)
                    assert http.put(item["upload_url"], content=data).status_code == 200
                    stored.append((item["file_path"], data))
        return stored

    with ThreadPoolExecutor(THREADS) as pool:
        stored = [pair for result in pool.map(upload, range(THREADS)) for pair in result]
    paths = [path for path, _ in stored]
    assert len(paths) == len(set(paths)) == THREADS * 5 * 3
    engine: Engine = fake.engine  # type: ignore[attr-defined]
    assert all(uploaded(engine, path) == data for path, data in stored)
    assert all(urlsplit(path).path.startswith("api-assets/") for path in paths)
