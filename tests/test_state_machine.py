"""A hypothesis state machine over the engine: random interleavings of every API and control call.

The machine keeps an exact model of each project (status, timer, owner, charge, outcome) and of
each upload slot, drives an in-process :class:`Engine` through create / clock / poll / cancel /
step / finish / delete / upload / download / progression switches in random orders, and after
every step checks the invariants the README promises:

- statuses only move forward along ``queued → rendering → complete | error | canceled`` and a
  terminal status is final (and equals what the model predicts, step for step);
- a deleted project shows ``enabled: false`` and no downloads, and its old URLs answer 404;
- every account's ledger balances: ``start - charged + refunded == credits``, and a project's
  ``credits_charged`` is its charge, or 0 exactly when it was refunded;
- ids are unique and cuid-shaped; another token's projects are invisible (NotFound).

Two machines start in each progression mode (one refunds cancellations, one keeps the charge);
both may switch mode mid-run.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule

from mh_mock.audio import render_wav
from mh_mock.config import Config, Endpoint
from mh_mock.engine import Engine
from mh_mock.errors import ConfigError, InsufficientCredits, NotFound, StorageError
from mh_mock.vendor import JOBS

from .engines import uploaded

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
STARTING_BALANCE = 700
TOKENS = ("tok-a", "tok-b", "tok-c")
DURATIONS = {  # the default timings: (queued, rendering) seconds
    Endpoint.VOICE_GENERATOR: (1.0, 3.0),
    Endpoint.VOICE_CLONER: (1.0, 4.0),
    Endpoint.MUSIC_GENERATOR: (1.0, 5.0),
}
CUID = re.compile(r"^c[0-9a-z]{24}$")
RANK = {"queued": 0, "rendering": 1, "complete": 2, "error": 2, "canceled": 2}
TERMINAL = ("complete", "error", "canceled")
AUDIO = render_wav("sample", 1.0)
JUNK = b"this is not audio at all"

OUTCOMES = st.sampled_from(
    [None, None, None, "complete", "canceled", "error:invalid_voice", "error:processing_timeout"]
)
PROMPTS = st.one_of(st.text(max_size=40), st.sampled_from(["Hello", "héllo 👋🏽 wörld", "x" * 1001]))
ADVANCES = st.sampled_from([0.5, 1.0, 2.5, 4.0, 10.0, 3601.0, 86_401.0])
KINDS = ("voice", "music", "clone")
CLONE_VALUES = {  # a non-upload audio_file_path → the job error it derives (None: none)
    "https://example.com/voice.mp3": None,
    "https://cdn.example.com/clip.MP4?x=1": None,
    "https://magichour.ai/my-library?audioId=abc": None,
    "https://example.com/page.html": "invalid_file_format",
    "not a path": "invalid_parameters",
    "api-assets/never/handed-out.wav": "invalid_parameters",
}


@dataclass
class ModelProject:
    id: str
    owner: str
    endpoint: Endpoint
    charge: int
    final: str
    """The terminal status the job reaches unless it is canceled."""
    code: str | None
    """The job-error code when ``final`` is error."""
    status: str = "queued"
    since: float = 0.0
    deleted: bool = False
    history: list[str] = field(default_factory=lambda: ["queued"])
    urls: list[tuple[str, int]] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def enter(self, status: str, at: float) -> None:
        self.status, self.since = status, at
        self.history.append(status)

    def step(self, at: float) -> None:
        self.enter("rendering" if self.status == "queued" else self.final, at)


@dataclass
class ModelUpload:
    file_path: str
    auth: str
    owner: str
    expires_at: float
    data: bytes | None = None


def _parts(url: str) -> tuple[str, str, str | None, str | None]:
    parts = urlsplit(url)
    _, outputs, project_id, name = parts.path.split("/")
    assert outputs == "outputs"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return project_id, name, query.get("expires"), query.get("signature")


def _outcome(outcome: str | None, derived: str | None) -> tuple[str, str | None]:
    """(final status, error code) of a job created with ``outcome`` whose input derived ``derived``."""
    if outcome is not None:
        status, _, code = outcome.partition(":")
        return status, (code or "unknown_error") if status == "error" else None
    return ("error", derived) if derived is not None else ("complete", None)


class EngineMachine(RuleBasedStateMachine):
    """Drive one engine and mirror it in a model; subclasses choose the starting config."""

    PROGRESSION: ClassVar[str] = "poll"
    REFUND_ON_CANCEL: ClassVar[bool] = True

    projects = Bundle("projects")
    uploads = Bundle("uploads")

    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine(
            Config(
                start_time=START,
                seed=7,
                progression=self.PROGRESSION,  # type: ignore[arg-type]
                starting_balance=STARTING_BALANCE,
                refund_on_cancel=self.REFUND_ON_CANCEL,
            )
        )
        self.mode = self.PROGRESSION
        self.now = START
        self.model: dict[str, ModelProject] = {}
        self.model_uploads: dict[str, ModelUpload] = {}
        for token in TOKENS:  # every account exists from the start, so foreign reads create none
            self.engine.api.account_body(token)

    # ------------------------------------------------------------------ the model's clock

    def settle(self) -> None:
        """Apply every clock transition due by now to the model (clock progression only)."""
        if self.mode != "clock":
            return
        for project in self.model.values():
            while not project.terminal:
                queued, rendering = DURATIONS[project.endpoint]
                due = project.since + (queued if project.status == "queued" else rendering)
                if due > self.now:
                    break
                project.step(due)

    def refunded(self, project: ModelProject) -> bool:
        return project.status == "error" or (project.status == "canceled" and self.REFUND_ON_CANCEL)

    def _created(self, token: str, make: Any, charge: int, final: tuple[str, str | None], endpoint: Endpoint) -> Any:
        self.settle()
        before = self._ledger_snapshot()
        balance = STARTING_BALANCE - self._charged(token) + self._refunds(token)
        if balance < charge:
            event("create -> 402")
            with pytest.raises(InsufficientCredits):
                make()
            assert self._ledger_snapshot() == before, "a refused create changed the state"
            return multiple()
        project = make()
        assert project.id not in self.model, f"id {project.id} was issued twice"
        assert project.charge == charge
        self.model[project.id] = ModelProject(project.id, token, endpoint, charge, *final, since=self.now)
        return project.id

    def _ledger_snapshot(self) -> tuple[Any, ...]:
        return (
            len(self.engine.controls.projects()),
            tuple((a.token, a.credits, a.charged, a.refunded) for a in self.engine.accounts.accounts()),
        )

    def _charged(self, token: str) -> int:
        return sum(p.charge for p in self.model.values() if p.owner == token)

    def _refunds(self, token: str) -> int:
        return sum(p.charge for p in self.model.values() if p.owner == token and self.refunded(p))

    # ------------------------------------------------------------------ creating

    @initialize(target=projects)
    def some_projects(self) -> Any:
        """Start with a job of each kind for two tokens, so every rule has something to act on."""
        made: list[str] = []
        for token in TOKENS[:2]:
            for kind in KINDS:
                project_id = self.create(token, kind, "Hello there", 15, "https://example.com/voice.mp3", None)
                assert isinstance(project_id, str)  # never refused: the balances are fresh
                made.append(project_id)
        self.control(made[0], "finish")  # one finished job from the start, so downloads happen early
        self.poll_once(made[0])
        return multiple(*made)

    @initialize(target=uploads)
    def some_uploads(self) -> Any:
        """Start with one uploaded voice sample per token."""
        paths = [self.request_upload(token, "wav") for token in TOKENS]
        for path in paths:
            self.put_upload(path, audio=True, tamper=False)
        return multiple(*paths)

    @rule(
        target=projects,
        token=st.sampled_from(TOKENS),
        kind=st.sampled_from(KINDS),
        prompt=PROMPTS,
        duration=st.integers(15, 300),
        clone_value=st.sampled_from(sorted(CLONE_VALUES)),
        outcome=OUTCOMES,
    )
    def create(self, token: str, kind: str, prompt: str, duration: int, clone_value: str, outcome: str | None) -> Any:
        if kind == "voice":
            return self._created(
                token,
                lambda: self.engine.api.create(
                    token, "voice_generator", prompt=prompt, voice_name="Elon Musk", outcome=outcome
                ),
                -(-len(prompt) // 10),
                _outcome(outcome, "text_too_long" if len(prompt) > 1000 else None),
                Endpoint.VOICE_GENERATOR,
            )
        if kind == "music":
            return self._created(
                token,
                lambda: self.engine.api.create(
                    token, "music_generator", duration=duration, prompt=prompt, outcome=outcome
                ),
                duration,
                _outcome(outcome, None),
                Endpoint.MUSIC_GENERATOR,
            )
        return self._clone(token, clone_value, CLONE_VALUES[clone_value], prompt[:1000], outcome)

    @rule(target=projects, token=st.sampled_from(TOKENS), upload=uploads, prompt=st.text(min_size=1, max_size=30))
    def clone_from_upload(self, token: str, upload: str, prompt: str) -> Any:
        slot = self.model_uploads[upload]
        if slot.owner != token or slot.data is None:
            derived: str | None = "invalid_parameters"
        else:
            derived = None if slot.data == AUDIO else "invalid_file_format"
        return self._clone(token, upload, derived, prompt, None)

    def _clone(self, token: str, path: str, derived: str | None, prompt: str, outcome: str | None) -> Any:
        event(f"clone derived={derived}")
        return self._created(
            token,
            lambda: self.engine.api.create(token, "voice_cloner", audio_file_path=path, prompt=prompt, outcome=outcome),
            -(-len(prompt) // 10),
            _outcome(outcome, derived),
            Endpoint.VOICE_CLONER,
        )

    # ------------------------------------------------------------------ time and progression

    @rule(seconds=ADVANCES)
    def advance(self, seconds: float) -> None:
        self.now = self.engine.controls.advance(seconds)
        assert self.now == self.engine.now()
        self.settle()

    @rule(mode=st.sampled_from(["poll", "clock"]))
    def switch_progression(self, mode: str) -> None:
        self.settle()
        self.engine.controls.set_progression(mode)
        if mode == self.mode:
            return  # no switch: timers go on
        self.mode = mode
        for project in self.model.values():
            if not project.terminal:
                project.since = self.now

    # ------------------------------------------------------------------ reading

    @rule(project_id=projects, times=st.integers(1, 3), wait=st.sampled_from([0.0, 0.0, 6.0]))
    def poll(self, project_id: str, times: int, wait: float) -> None:
        """Wait, then poll ``times`` times as the owner (three finish a job in poll progression)."""
        if wait:
            self.advance(wait)
        for _ in range(times):
            self.poll_once(project_id)

    def poll_once(self, project_id: str) -> None:
        self.settle()
        project = self.model[project_id]
        body = self.engine.api.get_project(project.owner, project_id)
        assert body["id"] == project_id
        assert body["status"] == project.status
        assert body["type"] == JOBS[project.endpoint].project_type
        assert body["enabled"] is not project.deleted
        assert body["credits_charged"] == (0 if self.refunded(project) else project.charge)
        if project.status == "error":
            assert body["error"]["code"] == project.code
        else:
            assert body["error"] is None
        live = project.status == "complete" and not project.deleted
        assert len(body["downloads"]) == (1 if live else 0)
        if self.mode == "poll" and not project.terminal:
            project.step(self.now)
        for item in body["downloads"]:
            project_of, name, expires, signature = _parts(item["url"])
            assert (project_of, name) == (project_id, "output.wav")
            assert expires is not None and signature is not None
            project.urls.append((item["url"], int(expires)))

    @rule(
        project_id=projects,
        pick=st.integers(0, 3),
        swap_to=st.one_of(st.none(), projects),
        wait=st.sampled_from([0.0, 0.0, 60.0, 86_401.0]),
    )
    def download(self, project_id: str, pick: int, swap_to: str | None, wait: float) -> None:
        """Fetch one of the URLs polls handed out for the project (a forged one if there is none)."""
        if wait:
            self.advance(wait)
        self.settle()
        model = self.model[project_id]
        if not model.urls and model.status == "complete" and not model.deleted:
            self.poll_once(project_id)  # the owner asks for a URL first
        if not model.urls:
            event("download -> forged")
            with pytest.raises(StorageError) as refused:
                self.engine.api.download(project_id, "output.wav", str(int(self.now * 1000) + 60_000), "0" * 32)
            assert refused.value.status == 404
            with_urls = [p for p in self.model.values() if p.urls]  # the initial finished job has one
            model = with_urls[pick % len(with_urls)]
        urls = model.urls
        project_id, name, expires, signature = _parts(urls[-1 - pick % len(urls)][0])
        if swap_to is not None and swap_to != project_id:
            with pytest.raises(StorageError) as refused:
                self.engine.api.download(swap_to, name, expires, signature)
            assert refused.value.status == 404
            return
        project = self.model[project_id]
        assert expires is not None
        if project.deleted:
            expected: int | None = 404
        elif self.now * 1000 > int(expires):
            expected = 403
        else:
            expected = None
        event(f"download -> {expected or 200}")
        if expected is None:
            data = bytes(self.engine.api.download(project_id, name, expires, signature))
            assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
        else:
            with pytest.raises(StorageError) as refused:
                self.engine.api.download(project_id, name, expires, signature)
            assert refused.value.status == expected

    # ------------------------------------------------------------------ ending jobs

    @rule(project_id=projects, action=st.sampled_from(["cancel", "step", "finish"]))
    def control(self, project_id: str, action: str) -> None:
        """The control API: cancel or step an unfinished job (a finished one refuses), or finish it."""
        self.settle()
        project = self.model[project_id]
        if action == "finish":
            self.engine.controls.finish(project_id)
            while not project.terminal:
                project.step(self.now)
        elif project.terminal:
            with pytest.raises(ConfigError):
                getattr(self.engine.controls, action)(project_id)
        else:
            getattr(self.engine.controls, action)(project_id)
            if action == "cancel":
                project.enter("canceled", self.now)
            else:
                project.step(self.now)

    @rule(project_id=projects, by_owner=st.booleans(), other=st.sampled_from(TOKENS))
    def delete(self, project_id: str, by_owner: bool, other: str) -> None:
        self.settle()
        project = self.model[project_id]
        if not by_owner and other != project.owner:
            before = self._ledger_snapshot()
            with pytest.raises(NotFound):
                self.engine.api.delete_project(other, project_id)
            assert self._ledger_snapshot() == before
            return
        self.engine.api.delete_project(project.owner, project_id)
        if not project.terminal:
            project.enter("canceled", self.now)
        project.deleted = True

    # ------------------------------------------------------------------ uploads

    @rule(target=uploads, token=st.sampled_from(TOKENS), extension=st.sampled_from(["wav", "mp3", "ogg"]))
    def request_upload(self, token: str, extension: str) -> str:
        self.settle()
        (item,) = self.engine.api.create_upload_urls(token, [("audio", extension)])
        file_path = item["file_path"]
        assert file_path not in self.model_uploads
        assert re.fullmatch(rf"api-assets/c[0-9a-z]{{24}}/audio\.{extension}", file_path)
        query = parse_qs(urlsplit(item["upload_url"]).query)
        self.model_uploads[file_path] = ModelUpload(file_path, query["auth-value"][0], token, self.now + 3600)
        return file_path

    @rule(upload=uploads, audio=st.booleans(), tamper=st.booleans())
    def put_upload(self, upload: str, audio: bool, tamper: bool) -> None:
        self.settle()
        slot = self.model_uploads[upload]
        data = AUDIO if audio else JUNK
        auth = slot.auth[::-1] if tamper else slot.auth
        event(f"put tamper={tamper} expired={self.now > slot.expires_at}")
        if tamper or self.now > slot.expires_at:
            with pytest.raises(StorageError) as refused:
                self.engine.api.put_upload(upload, auth, data)
            assert refused.value.status == (404 if tamper else 403)
        else:
            self.engine.api.put_upload(upload, auth, data)
            slot.data = data
        assert uploaded(self.engine, upload) == slot.data

    # ------------------------------------------------------------------ invariants

    @invariant()
    def statuses_match_the_model_and_only_move_forward(self) -> None:
        self.settle()
        for project_id, model in self.model.items():
            project = self.engine.controls.project(project_id)
            assert project.status == model.status, f"{project_id}: engine {project.status}, model {model.status}"
            statuses = [t.status for t in project.history]
            assert statuses == model.history
            assert statuses[0] == "queued"
            assert all(RANK[a] < RANK[b] for a, b in itertools.pairwise(statuses)), statuses
            assert sum(s in TERMINAL for s in statuses) <= 1, f"left a terminal status: {statuses}"
            times = [t.at for t in project.history]
            assert times == sorted(times)
            assert times[-1] <= self.now
            if model.terminal and model.status != "canceled":
                assert (project.status, project.outcome.code) == (model.final, model.code)

    @invariant()
    def deleted_projects_keep_nothing(self) -> None:
        for model in self.model.values():
            if not model.deleted:
                continue
            body = self.engine.state.project_body(self.engine.controls.project(model.id))
            assert body["enabled"] is False
            assert body["downloads"] == []
            assert model.terminal
            for url, _ in model.urls:
                project_id, name, expires, signature = _parts(url)
                with pytest.raises(StorageError) as refused:
                    self.engine.api.download(project_id, name, expires, signature)
                assert refused.value.status == 404

    @invariant()
    def every_ledger_balances(self) -> None:
        accounts = {a.token: a for a in self.engine.accounts.accounts()}
        assert set(accounts) == set(TOKENS)
        for token, account in accounts.items():
            charged, refunds = self._charged(token), self._refunds(token)
            assert (account.charged, account.refunded) == (charged, refunds)
            assert account.credits == STARTING_BALANCE - charged + refunds
            assert self.engine.api.account_body(token)["credits"] == account.credits
        for model in self.model.values():
            project = self.engine.controls.project(model.id)
            assert project.refunded is self.refunded(model)
            assert project.credits_charged == (0 if project.refunded else model.charge)

    @invariant()
    def ids_are_unique_and_cuid_shaped(self) -> None:
        ids = [p.id for p in self.engine.controls.projects()]
        assert len(ids) == len(set(ids)) == len(self.model)
        assert set(ids) == set(self.model)
        assert all(CUID.match(i) for i in ids)
        assert set(ids).isdisjoint(u.split("/")[1] for u in self.model_uploads)

    @precondition(lambda self: bool(self.model))
    @invariant()
    def other_tokens_see_nothing(self) -> None:
        """Every foreign token gets NotFound for every project, and asking changes nothing.

        (A foreign DELETE is tried by the ``delete`` rule; plain try/except keeps this cheap.)
        """
        before = [(p.status, p.reads, p.enabled) for p in self.engine.controls.projects()]
        for model in self.model.values():
            for token in TOKENS:
                if token == model.owner:
                    continue
                try:
                    self.engine.api.get_project(token, model.id)
                except NotFound:
                    continue
                raise AssertionError(f"{token} can read {model.owner}'s project {model.id}")
        assert [(p.status, p.reads, p.enabled) for p in self.engine.controls.projects()] == before


class ClockMachine(EngineMachine):
    """Starts in clock progression, and canceled jobs keep their charge."""

    PROGRESSION = "clock"
    REFUND_ON_CANCEL = False


SETTINGS = settings(
    max_examples=50,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

TestPollProgression = EngineMachine.TestCase
TestPollProgression.settings = SETTINGS
TestClockProgression = ClockMachine.TestCase
TestClockProgression.settings = SETTINGS
