"""The engine: all state of one fake and every rule of the audio-projects API, free of HTTP.

Both adapters (respx in-process, Starlette standalone) translate requests into calls on an
:class:`Engine` and nothing more. Status is derived lazily: a project's next transition is
computed from the fake's :class:`~mh_mock.clock.Clock` (clock progression) or from the number of
reads (poll progression) whenever the engine is touched. There are no threads and no sleeps.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from .audio import render_wav, sniff_audio
from .clock import Clock, format_timestamp
from .config import Config, Endpoint, Outcome, Progression, to_jsonable
from .errors import ConfigError, InsufficientCredits, NotFound, StorageError, Unauthorized, Unprocessable
from .faults import Faults
from .ids import IdFactory, Signer
from .journal import Journal
from .models import Account, Project, Transition, Upload, project_from_json, project_to_json
from .scenarios import RandomFailures, Rule, Scenarios
from .seeds import apply_seed, load_seed
from .store import Store
from .webhooks import WebhookHub

__all__ = ["EXTENSIONS", "Engine", "TransitionListener"]

EXTENSIONS: dict[str, tuple[str, ...]] = {
    "video": ("mp4", "m4v", "mov", "webm"),
    "audio": ("mp3", "wav", "aac", "flac", "webm", "weba", "m4a", "opus", "ogg", "oga", "aiff", "amr"),
    "image": ("png", "jpg", "jpeg", "jfif", "heic", "heif", "webp", "avif", "jp2", "tiff", "tif", "bmp"),
}
"""Valid upload extensions per asset type (contract: upload-urls description)."""

OUTPUT_NAME = "output.wav"

PUBLIC = "*"
"""Owner of seeded example objects that every token may read (the vendor mock's ``cuid-example``)."""

TransitionListener = Callable[[Project, Transition], None]
"""Called with the project and its new transition, in order, whenever a status changes."""


class Engine:
    """One fake Magic Hour audio API: accounts, projects, uploads, outputs and a clock.

    Every public method is thread-safe. ``token`` arguments are API keys: each is its own
    account, and objects of one account are invisible (404) to every other.
    """

    webhooks: WebhookHub
    faults: Faults
    scenarios: Scenarios

    def __init__(self, config: Config | None = None, *, clock: Clock | None = None, store: Store | None = None) -> None:
        self.base_config = self.config = config or Config()
        self._injected_clock = clock
        self._store = store
        self._touched: dict[str, set[str]] = {"accounts": set(), "projects": set(), "uploads": set()}
        self._reset_options: dict[str, Any] = {}
        self._saved_meta: dict[str, Any] | None = None
        self._restarts = 0
        self._lock = threading.RLock()
        self._listeners: list[TransitionListener] = []
        self.deliver_inline = True
        """Send due webhooks right after each call (in-process); the server sets False and ticks."""
        self.journal = Journal(self.config.journal_limit)
        """Every HTTP call the adapters served (the dispatcher writes it; reset starts a new one)."""
        if store is not None and not store.is_empty():
            self._restore(store.load())
        else:
            self.reset()

    # ------------------------------------------------------------------ lifecycle

    def reset(self, **options: Any) -> None:
        """Forget everything (accounts, projects, uploads, journal) and restart ids and clock.

        ``options`` override the engine's base :class:`Config` until the next reset; a
        misspelt option is a TypeError naming the valid ones.
        """
        with self._lock:
            cfg = self.base_config.replace(**options) if options else self.base_config
            seed = load_seed(cfg.preload) if cfg.preload is not None else None
            if seed is not None and seed.get("config"):
                cfg = self.base_config.replace(**{**seed["config"], **options})
            self.config = cfg
            self._reset_options = dict(options)
            self.journal = Journal(cfg.journal_limit)
            self.clock = self._injected_clock or Clock(cfg.start_time, frozen=cfg.frozen_clock)
            self._ids = IdFactory(cfg.seed)
            self._secret = self._ids.token().encode()
            self._signer = Signer(self._secret)
            self._accounts: dict[str, Account] = {}
            self._projects: dict[str, Project] = {}
            self._uploads: dict[str, Upload] = {}
            self._active: set[str] = set()
            self._due: list[tuple[float, int, str, int]] = []
            self._sequence = 0
            self.progression = cfg.progression
            if getattr(self, "webhooks", None) is not None:
                self.webhooks.close()
            self.webhooks = WebhookHub(self.now, fake_timestamps=cfg.webhook_timestamps == "fake")
            """Webhook endpoints and the delivery log (see :mod:`mh_mock.webhooks`)."""
            self.faults = Faults(cfg.seed)
            """HTTP-layer faults the dispatcher injects (see :mod:`mh_mock.faults`)."""
            self.scenarios = Scenarios()
            """Rules and random failures deciding how new jobs end (see :mod:`mh_mock.scenarios`)."""
            if cfg.failure_ratio:
                self.scenarios.random = RandomFailures(cfg.failure_ratio, seed=cfg.seed)
            for token, credits in cfg.accounts.items():
                self.add_account(token, credits)
            if seed is not None:
                apply_seed(self, seed)
            if self._store is not None:
                self._store.clear()
                self._touch_all()
                self.commit()

    def subscribe(self, listener: TransitionListener) -> Callable[[], None]:
        """Call ``listener`` on every status change; returns a function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def now(self) -> float:
        """The fake's current time (epoch seconds)."""
        return self.clock.now()

    def tick(self) -> None:
        """Apply every transition due by now and send due webhooks (the standalone server's ticker)."""
        with self._lock:
            self._settle()
        self.after_call()
        self.commit()

    def after_call(self) -> None:
        """Run what is due after each served call (webhook deliveries); adapters call it."""
        hub = self.webhooks
        if hub.pending:
            hub.deliver_due(self.now())

    # ------------------------------------------------------------------ accounts

    def account(self, token: str | None) -> Account:
        """The account of ``token``, created on first use unless auth is strict."""
        if token is None or not token.strip():
            raise Unauthorized()
        with self._lock:
            found = self._accounts.get(token)
            if found is None:
                if self.config.strict_auth:
                    raise Unauthorized()
                found = self._new_account(token, self.config.starting_balance)
            return found

    def add_account(
        self, token: str, credits: int | None = None, *, email: str | None = None, tier: str | None = None
    ) -> Account:
        """Register ``token`` (required in strict auth) with ``credits`` (default: starting balance)."""
        if not token.strip():
            raise ConfigError("a token must not be blank")
        if tier is not None and tier not in ("free", "creator", "pro", "business"):
            raise ConfigError(f"tier must be free, creator, pro or business, got {tier!r}")
        with self._lock:
            if token in self._accounts:
                raise ConfigError(f"an account for token {token!r} already exists")
            balance = self.config.starting_balance if credits is None else credits
            account = self._new_account(token, balance)
            account.email = email if email is not None else account.email
            account.tier = tier if tier is not None else account.tier
            self._touch("accounts", token)
            return account

    def set_balance(self, token: str, credits: int) -> Account:
        """Set the credits of ``token``'s account (created if needed)."""
        if credits < 0:
            raise ConfigError(f"credits must be >= 0, got {credits}")
        with self._lock:
            account = self._accounts.get(token) or self.add_account(token, credits)
            account.credits = credits
            self._touch("accounts", token)
            return account

    def account_body(self, token: str | None) -> dict[str, Any]:
        """``GET /v1/account``: the live balance, after any refund that is due."""
        with self._lock:
            account = self.account(token)
            self._settle()
            return {
                "id": account.id,
                "email": account.email,
                "tier": account.tier,
                "credits": account.credits,
                "subscription": None,
            }

    def accounts(self) -> list[Account]:
        """Every account, in creation order."""
        with self._lock:
            self._settle()
            return list(self._accounts.values())

    def _new_account(self, token: str, credits: int) -> Account:
        if credits < 0:
            raise ConfigError(f"credits must be >= 0, got {credits}")
        config = self.config
        account = Account(token, self._ids.new(), credits, config.account_email, config.account_tier)
        self._accounts[token] = account
        self._touch("accounts", token)
        return account

    # ------------------------------------------------------------------ creating projects

    def create_voice(
        self, token: str | None, *, prompt: str, voice_name: str, name: str | None = None,
        outcome: Outcome | str | None = None,
    ) -> Project:  # fmt: skip
        """``POST /v1/ai-voice-generator``: charge per character and queue the job."""
        derived = None
        if len(prompt) > self.config.voice_prompt_limit:
            derived = Outcome.error(
                "text_too_long",
                f"The text is {len(prompt)} characters long; the limit is {self.config.voice_prompt_limit}",
            )
        return self._create(
            token, Endpoint.VOICE_GENERATOR, name=name, prompt=prompt, charge=self._voice_charge(prompt),
            seconds=self._speech_seconds(prompt), outcome=outcome, derived=derived,
        )  # fmt: skip

    def clone_voice(
        self, token: str | None, *, audio_file_path: str, prompt: str, name: str | None = None,
        outcome: Outcome | str | None = None,
    ) -> Project:  # fmt: skip
        """``POST /v1/ai-voice-cloner``: the create succeeds; a bad input fails the *job*."""
        with self._lock:
            account = self.account(token)
            derived = self._clone_input_problem(account.token, audio_file_path)
            return self._create(
                token, Endpoint.VOICE_CLONER, name=name, prompt=prompt, charge=self._voice_charge(prompt),
                seconds=self._speech_seconds(prompt), outcome=outcome, derived=derived,
            )  # fmt: skip

    def create_music(
        self, token: str | None, *, duration: int, prompt: str, lyrics: str | None = None,
        instrumental: bool | None = None, name: str | None = None,
        outcome: Outcome | str | None = None,
    ) -> Project:  # fmt: skip
        """``POST /v1/ai-music-generator``: one credit per second of ``duration``."""
        if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= 3600:
            raise ConfigError(f"duration must be whole seconds between 1 and 3600, got {duration!r}")
        del lyrics, instrumental  # they shape real music, not our test tone
        return self._create(
            token, Endpoint.MUSIC_GENERATOR, name=name, prompt=prompt, charge=duration, seconds=duration,
            outcome=outcome, derived=None,
        )  # fmt: skip

    def _voice_charge(self, prompt: str) -> int:
        return math.ceil(len(prompt) * self.config.voice_credit_rate)

    def _speech_seconds(self, prompt: str) -> float:
        return max(1.0, len(prompt) / self.config.speech_chars_per_second)

    def _clone_input_problem(self, token: str, path: str) -> Outcome | None:
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            extension = PurePosixPath(parts.path).suffix.lstrip(".").lower()
            library = (parts.hostname or "").endswith("magichour.ai") and "audioId=" in parts.query
            if library or extension in EXTENSIONS["audio"] or extension in EXTENSIONS["video"]:
                return None
            return Outcome.error(
                "invalid_file_format",
                f"The audio_file_path URL must end in an audio file extension, got {path!r}",
            )
        upload = self._uploads.get(path) if path.startswith("api-assets/") else None
        if upload is None or upload.owner not in (token, PUBLIC):
            return Outcome.error(
                "invalid_parameters",
                f"audio_file_path {path!r} is not an uploaded file: request an upload URL with "
                "POST /v1/files/upload-urls and PUT the file there first",
            )
        if upload.data is None:
            return Outcome.error(
                "invalid_parameters",
                f"audio_file_path {path!r} was never uploaded: PUT the file to its upload_url first",
            )
        if sniff_audio(upload.data) is None:
            return Outcome.error("invalid_file_format", f"{path!r} does not hold audio")
        return None

    def _create(
        self, token: str | None, endpoint: Endpoint, *, name: str | None, prompt: str, charge: int,
        seconds: float, outcome: Outcome | str | None, derived: Outcome | None,
    ) -> Project:  # fmt: skip
        with self._lock:
            self._settle()
            account = self.account(token)
            if account.credits < charge:
                raise InsufficientCredits()
            now = self.now()
            scenario, timing = self.scenarios.decide(endpoint, account.token, name, prompt)
            chosen = Outcome.parse(outcome) if outcome is not None else scenario or derived
            project = Project(
                id=self._ids.new(),
                owner=account.token,
                endpoint=endpoint,
                name=name if name is not None else f"{endpoint.label} - {format_timestamp(now)}",
                created_at=now,
                charge=charge,
                seconds=float(seconds),
                outcome=chosen or self.config.default_outcome,
                timing=timing or self.config.timings[endpoint],
            )
            account.credits -= charge
            account.charged += charge
            self._touch("accounts", account.token)
            self._projects[project.id] = project
            self._active.add(project.id)
            self._enter(project, "queued", now)
            return project

    # ------------------------------------------------------------------ reading and deleting

    def get_project(self, token: str | None, project_id: str) -> dict[str, Any]:
        """``GET /v1/audio-projects/{id}``; in poll progression the read moves the job on."""
        with self._lock:
            self._settle()
            project = self._owned(token, project_id)
            body = self.project_body(project)
            if self.progression is Progression.POLL and not project.terminal:
                project.reads += 1
                self._touch("projects", project.id)
                if project.reads >= self.config.reads_per_step:
                    self._step(project, self.now())
            return body

    def delete_project(self, token: str | None, project_id: str) -> None:
        """``DELETE /v1/audio-projects/{id}``: irreversible; an unfinished job is canceled first."""
        with self._lock:
            self._settle()
            self._disable(self._owned(token, project_id))

    def _disable(self, project: Project) -> None:
        if not project.terminal:
            self._enter(project, "canceled", self.now())
        project.enabled = False
        self._touch("projects", project.id)

    def project_body(self, project: Project) -> dict[str, Any]:
        """The contract's GET body for ``project``, with fresh download URLs when complete."""
        downloads = []
        if project.status == "complete" and project.enabled:
            expires = round((self.now() + self.config.download_ttl) * 1000)
            signature = self._signer.sign("output", project.id, expires)
            downloads.append(
                {
                    "url": f"{self.config.storage_url}/outputs/{project.id}/{OUTPUT_NAME}"
                    f"?expires={expires}&signature={signature}",
                    "expires_at": format_timestamp(expires / 1000),
                }
            )
        outcome = project.outcome
        return {
            "id": project.id,
            "name": project.name,
            "status": project.status,
            "type": project.endpoint.project_type,
            "created_at": format_timestamp(project.created_at),
            "enabled": project.enabled,
            "credits_charged": project.credits_charged,
            "downloads": downloads,
            "error": {"message": outcome.message, "code": outcome.code} if project.status == "error" else None,
        }

    def _owned(self, token: str | None, project_id: str) -> Project:
        account = self.account(token)
        project = self._projects.get(project_id)
        if project is None or project.owner not in (account.token, PUBLIC):
            raise NotFound()
        return project

    # ------------------------------------------------------------------ storage

    def create_upload_urls(self, token: str | None, items: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
        """``POST /v1/files/upload-urls``: one signed PUT URL per ``(type, extension)``, in order."""
        with self._lock:
            account = self.account(token)
            for kind, extension in items:
                allowed = EXTENSIONS.get(kind, ())
                if extension not in allowed:
                    raise Unprocessable(
                        f"'{extension}' is an invalid {kind} extension. Possible extensions are '{', '.join(allowed)}'"
                    )
            expires = self.now() + self.config.upload_ttl
            answer = []
            for kind, extension in items:
                file_path = f"api-assets/{self._ids.new()}/{kind}.{extension}"
                self._uploads[file_path] = Upload(file_path, account.token, kind, extension, expires)
                self._touch("uploads", file_path)
                auth = self._signer.sign("upload", file_path)
                answer.append(
                    {
                        "upload_url": f"{self.config.storage_url}/{file_path}?auth-value={auth}",
                        "expires_at": format_timestamp(expires),
                        "file_path": file_path,
                    }
                )
            return answer

    def put_upload(self, file_path: str, auth_value: str | None, data: bytes) -> None:
        """``PUT <upload_url>``: store the bytes (a wrong signature looks like a missing file)."""
        with self._lock:
            upload = self._uploads.get(file_path)
            if upload is None or auth_value != self._signer.sign("upload", file_path):
                raise StorageError(404, "not_found", "Not Found")
            if self.now() > upload.expires_at:
                raise StorageError(
                    403, "url_expired",
                    f"This upload URL expired at {format_timestamp(upload.expires_at)}; "
                    "request a new one with POST /v1/files/upload-urls",
                )  # fmt: skip
            self.check_upload_size(len(data))
            upload.data = bytes(data)
            self._touch("uploads", file_path)

    def check_upload_size(self, size: int) -> None:
        """Raise 413 if a PUT of ``size`` bytes is over the limit (adapters call it before reading)."""
        if size > self.config.max_upload_bytes:
            raise StorageError(
                413, "payload_too_large",
                f"The upload is {size} bytes; the limit is {self.config.max_upload_bytes} bytes",
            )  # fmt: skip

    def download(self, project_id: str, filename: str, expires: str | None, signature: str | None) -> bytes:
        """``GET <downloads[].url>``: the rendered WAV, while the URL is valid and the project lives."""
        with self._lock:
            self._settle()
            project = self._projects.get(project_id)
            valid = (
                project is not None
                and filename == OUTPUT_NAME
                and expires is not None
                and expires.isascii()
                and expires.isdigit()
                and len(expires) <= 16
                and signature == self._signer.sign("output", project_id, int(expires))
            )
            if not valid or project is None or not project.enabled or project.status != "complete":
                raise StorageError(404, "not_found", "Not Found")
            if self.now() * 1000 > int(expires):  # type: ignore[arg-type]
                raise StorageError(
                    403, "url_expired",
                    f"This download URL expired at {format_timestamp(int(expires) / 1000)}; "  # type: ignore[arg-type]
                    f"GET /v1/audio-projects/{project_id} returns a fresh one",
                )  # fmt: skip
            key, seconds = f"{self._secret.decode()}:{project.id}", project.seconds
        return render_wav(key, seconds)

    def upload_data(self, file_path: str) -> bytes | None:
        """The bytes PUT to ``file_path`` (control API), or None."""
        with self._lock:
            upload = self._uploads.get(file_path)
            return None if upload is None else upload.data

    # ------------------------------------------------------------------ control

    def project(self, project_id: str) -> Project:
        """A project by id, whoever owns it (control API); KeyError if unknown."""
        with self._lock:
            self._settle()
            return self._projects[project_id]

    def projects(self, token: str | None = None) -> list[Project]:
        """Every project (of ``token`` if given), oldest first."""
        with self._lock:
            self._settle()
            return [p for p in self._projects.values() if token is None or p.owner == token]

    def advance(self, seconds: float) -> float:
        """Move the clock forward and apply every transition that falls due; returns the time."""
        with self._lock:
            now = self.clock.advance(seconds)
            self._settle()
            return now

    def set_progression(self, progression: Progression | str) -> None:
        """Switch between clock- and poll-driven progression; timers restart from now."""
        with self._lock:
            self._settle()
            self.progression = Progression(progression)
            self._due.clear()
            now = self.now()
            for project in self._iter_active():
                project.status_since, project.reads = now, 0
                self._touch("projects", project.id)
                self._schedule(project)

    def finish(self, project_id: str | None = None) -> list[Project]:
        """Run one project (or every unfinished one) to its terminal status now."""
        with self._lock:
            self._settle()
            chosen = [self._projects[project_id]] if project_id is not None else list(self._iter_active())
            now = self.now()
            for project in chosen:
                while not project.terminal:
                    self._step(project, now)
            return chosen

    def set_outcome(self, project_id: str, outcome: Outcome | str) -> Project:
        """Decide how an unfinished project will end."""
        with self._lock:
            self._settle()
            project = self._projects[project_id]
            if project.terminal:
                raise ConfigError(f"project {project_id} is already {project.status}; its outcome is fixed")
            project.outcome = Outcome.parse(outcome)
            self._touch("projects", project_id)
            return project

    def force(self, project_id: str, status: str, *, code: str | None = None, message: str | None = None) -> Project:
        """Move an unfinished project straight to ``status`` now (``rendering`` or a terminal one)."""
        with self._lock:
            self._settle()
            project = self._projects[project_id]
            order = ("queued", "rendering")
            if project.terminal or (status in order and order.index(status) <= order.index(project.status)):
                raise ConfigError(
                    f"project {project_id} is {project.status}; statuses only move forward, not to {status!r}"
                )
            if status == "rendering":
                self._step(project, self.now())
                return project
            project.outcome = Outcome(status, code, message) if status == "error" else Outcome.parse(status)
            self.finish(project_id)
            return project

    def step(self, project_id: str) -> Project:
        """Move one unfinished project one status on now, without counting a read."""
        with self._lock:
            self._settle()
            project = self._projects[project_id]
            if project.terminal:
                raise ConfigError(f"project {project_id} is already {project.status}; it cannot move on")
            self._step(project, self.now())
            return project

    def delete(self, project_id: str) -> Project:
        """Delete a project as its owner would (control API); returns it."""
        with self._lock:
            self._settle()
            project = self._projects[project_id]
            self._disable(project)
            return project

    def import_project(
        self, *, project_id: str, owner: str, endpoint: Endpoint, status: str, name: str | None = None,
        charge: int = 0, seconds: float = 10.0, outcome: Outcome | None = None, enabled: bool = True,
    ) -> Project:  # fmt: skip
        """Put a project straight into the store (seed files); ``owner`` may be :data:`PUBLIC`."""
        if status not in ("queued", "rendering", "complete", "error", "canceled"):
            raise ConfigError(f"status must be queued, rendering, complete, error or canceled, got {status!r}")
        with self._lock:
            if project_id in self._projects:
                raise ConfigError(f"a project with id {project_id!r} already exists")
            now = self.now()
            if outcome is None:
                outcome = Outcome(status) if status in ("complete", "canceled") else self.config.default_outcome
            if status == "error" and outcome.status != "error":
                outcome = Outcome.error()
            project = Project(
                id=project_id, owner=owner, endpoint=endpoint, created_at=now, charge=charge, seconds=seconds,
                name=name if name is not None else f"{endpoint.label} - {format_timestamp(now)}",
                outcome=outcome, timing=self.config.timings[endpoint], enabled=enabled,
            )  # fmt: skip
            project.refunded = status in ("error", "canceled")  # nobody paid for an imported project
            self._projects[project_id] = project
            self._active.add(project_id)
            self._enter(project, "queued", now)
            while project.status != status:
                self._step(project, now)
            if not enabled:
                self._disable(project)
            return project

    def import_upload(self, file_path: str, owner: str, data: bytes) -> Upload:
        """Store an already-uploaded asset (seed files); ``owner`` may be :data:`PUBLIC`."""
        if not file_path.startswith("api-assets/"):
            raise ConfigError(f"uploaded file paths start with 'api-assets/', got {file_path!r}")
        kind_extension = file_path.rsplit(".", 1)[-1].lower()
        with self._lock:
            upload = Upload(file_path, owner, "audio", kind_extension, float("inf"), bytes(data))
            self._uploads[file_path] = upload
            self._touch("uploads", file_path)
            return upload

    def cancel(self, project_id: str) -> Project:
        """Cancel a queued or rendering job, as the web app does (no webhook fires)."""
        with self._lock:
            self._settle()
            project = self._projects[project_id]
            if project.terminal:
                raise ConfigError(
                    f"project {project_id} is already {project.status}; only queued or rendering "
                    "projects can be canceled"
                )
            self._enter(project, "canceled", self.now())
            return project

    # ------------------------------------------------------------------ persistence

    def _touch(self, table: str, key: str) -> None:
        if self._store is not None:
            self._touched[table].add(key)

    def _touch_all(self) -> None:
        self._touched["accounts"].update(self._accounts)
        self._touched["projects"].update(self._projects)
        self._touched["uploads"].update(self._uploads)

    def commit(self) -> None:
        """Save what changed since the last commit (no-op without a store). The dispatcher calls
        it before each answer leaves, so whatever a client was told is on disk."""
        if self._store is None:
            return
        with self._lock:
            touched, self._touched = self._touched, {"accounts": set(), "projects": set(), "uploads": set()}
            hub = self.webhooks
            changes: dict[str, list[tuple[str, dict[str, Any], bytes | None]]] = {
                "accounts": [(t, self._accounts[t].__dict__, None) for t in touched["accounts"] if t in self._accounts],
                "projects": [
                    (i, project_to_json(self._projects[i]), None) for i in touched["projects"] if i in self._projects
                ],
                "uploads": [
                    (
                        path,
                        {k: v for k, v in self._uploads[path].__dict__.items() if k != "data"},
                        self._uploads[path].data,
                    )
                    for path in touched["uploads"]
                    if path in self._uploads
                ],
                "deliveries": [(d.id, d.to_json(), None) for d in hub.take_touched()],
            }
            meta = {
                "clock": self.clock.snapshot(),
                "progression": self.progression.value,
                "secret": self._secret.decode(),
                "options": to_jsonable(self._reset_options),
                "restarts": self._restarts,
                "scenarios": [rule.describe() for rule in self.scenarios.rules],
                "random": None
                if self.scenarios.random is None
                else [self.scenarios.random.ratio, list(self.scenarios.random.codes)],
                "faults": [
                    {k: v for k, v in f.describe().items() if k != "id"} | {"id": f.id} for f in self.faults.rules
                ],
                "webhooks": [e.describe() for e in hub.endpoints.values() if e.url is not None],
            }
            if meta == self._saved_meta and not any(changes.values()):
                return  # the ticker commits ten times a second; most of the time nothing changed
            self._saved_meta = meta
        self._store.save(meta, changes)

    def _restore(self, state: dict[str, Any]) -> None:
        """Continue from a saved state (a restart with the same ``--state`` file)."""
        meta = state["engine"]
        with self._lock:
            self.config = cfg = self.base_config.replace(**meta["options"]) if meta["options"] else self.base_config
            self._reset_options = dict(meta["options"])
            self._restarts = meta["restarts"] + 1
            self.clock = self._injected_clock or Clock(cfg.start_time, frozen=cfg.frozen_clock)
            self.clock.restore(meta["clock"])
            self._secret = meta["secret"].encode()
            self._signer = Signer(self._secret)
            self._accounts = {data["token"]: Account(**data) for data, _ in state["accounts"]}
            self._projects = {data["id"]: project_from_json(data) for data, _ in state["projects"]}
            self._uploads = {data["file_path"]: Upload(**data, data=blob) for data, blob in state["uploads"]}
            issued = {a.id for a in self._accounts.values()} | set(self._projects)
            issued |= {path.split("/")[1] for path in self._uploads}
            self._ids = IdFactory(f"{cfg.seed}:restart-{self._restarts}", issued)
            self._active = {p.id for p in self._projects.values() if not p.terminal}
            self._due, self._sequence = [], 0
            self.progression = Progression(meta["progression"])
            for project in self._iter_active():
                self._schedule(project)
            self.webhooks = WebhookHub(self.now, fake_timestamps=cfg.webhook_timestamps == "fake")
            for endpoint in meta["webhooks"]:
                self.webhooks.restore_endpoint(endpoint)
            self.webhooks.restore_deliveries(data for data, _ in state["deliveries"])
            self.faults = Faults(f"{cfg.seed}:restart-{self._restarts}")
            for fault in meta["faults"]:
                self.faults.restore(fault)
            self.scenarios = Scenarios()
            for rule in meta["scenarios"]:
                self.scenarios.add(Rule.from_json({k: v for k, v in rule.items() if k != "id"}, rule["id"]))
            if meta["random"] is not None:
                self.scenarios.random = RandomFailures(
                    meta["random"][0], tuple(meta["random"][1]), f"{cfg.seed}:restart-{self._restarts}"
                )

    def close(self) -> None:
        """Close the store and the webhook client."""
        self.webhooks.close()
        if self._store is not None:
            self._store.close()

    # ------------------------------------------------------------------ transitions

    def _iter_active(self) -> Iterable[Project]:
        return [self._projects[pid] for pid in sorted(self._active, key=self._order)]

    def _order(self, project_id: str) -> tuple[float, str]:
        project = self._projects[project_id]
        return (project.created_at, project_id)

    def _step(self, project: Project, at: float) -> None:
        following = "rendering" if project.status == "queued" else project.outcome.status
        self._enter(project, following, at)

    def _enter(self, project: Project, status: str, at: float) -> None:
        project.status, project.status_since, project.reads = status, at, 0
        project.step += 1
        self._touch("projects", project.id)
        transition = Transition(project.id, status, at)
        project.history.append(transition)
        if project.terminal:
            self._active.discard(project.id)
            if status == "error" or (status == "canceled" and self.config.refund_on_cancel):
                self._refund(project)
        else:
            self._schedule(project)
        for listener in list(self._listeners):
            listener(project, transition)
        if self.webhooks.endpoints:
            self.webhooks.on_transition(project, transition, self.project_body(project))

    def _refund(self, project: Project) -> None:
        if project.refunded:
            return
        project.refunded = True
        account = self._accounts.get(project.owner)
        if account is None:  # a public seeded example: nobody paid for it
            return
        account.credits += project.charge
        account.refunded += project.charge
        self._touch("accounts", account.token)

    def _schedule(self, project: Project) -> None:
        if self.progression is not Progression.CLOCK:
            return
        timing = project.timing
        duration = timing.queued if project.status == "queued" else timing.rendering
        self._sequence += 1
        heapq.heappush(self._due, (project.status_since + duration, self._sequence, project.id, project.step))

    def _settle(self) -> None:
        """Apply, in time order, every clock transition due by now."""
        if not self._due:
            return
        now = self.now()
        while self._due and self._due[0][0] <= now:
            due, _, project_id, step = heapq.heappop(self._due)
            project = self._projects.get(project_id)
            if project is not None and project.step == step and not project.terminal:
                self._step(project, due)
