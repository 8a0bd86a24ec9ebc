"""The engine: all state of one fake and every rule of the audio-projects API, free of HTTP.

Both adapters (respx in-process, Starlette standalone) translate requests into calls on an
:class:`Engine` and nothing more. Status is derived lazily: a project's next transition is
computed from the fake's :class:`~mh_mock.clock.Clock` (clock progression) or from the number of
reads (poll progression) whenever the engine is touched. There are no threads and no sleeps.

The class is assembled from three parts: the API operations here, the control methods of
:mod:`mh_mock.controls`, and the persistence of :mod:`mh_mock.persistence`, over the state and
transition rules of :mod:`mh_mock.state`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from .audio import render_wav, sniff_audio
from .clock import Clock, format_timestamp
from .config import DEFAULTS, TIERS, Config, Endpoint, Outcome, Progression
from .controls import Controls
from .errors import ConfigError, InsufficientCredits, StorageError, Unprocessable
from .models import Account, Project, Upload
from .persistence import Persistence
from .seeds import apply_seed, load_seed
from .state import EXTENSIONS, OUTPUT_NAME, PUBLIC, TransitionListener
from .store import Store

__all__ = ["EXTENSIONS", "PUBLIC", "Engine", "TransitionListener"]


class Engine(Controls, Persistence):
    """One fake Magic Hour audio API: accounts, projects, uploads, outputs and a clock.

    Every public method is thread-safe. ``token`` arguments are API keys: each is its own
    account, and objects of one account are invisible (404) to every other. With a ``store``
    the engine resumes from it, and saves every change (see :mod:`mh_mock.persistence`).
    """

    def __init__(self, config: Config | None = None, *, clock: Clock | None = None, store: Store | None = None) -> None:
        super().__init__(config, clock, store)
        if store is not None and not store.is_empty():
            self._restore(store.load())
        else:
            self.reset()

    def reset(self, **options: Any) -> None:
        """Forget everything (accounts, projects, uploads, journal, controls); restart ids and clock.

        ``options`` override the base :class:`Config` until the next reset; a misspelt option is a
        TypeError naming the valid ones. A seed file's ``config`` fills in what the base config
        left at its defaults. If anything is wrong, nothing changes.
        """
        with self._lock:
            base = self.base_config
            cfg = base.replace(**options) if options else base
            seed = load_seed(cfg.preload) if cfg.preload is not None else None
            effective = dict(options)
            if seed is not None and seed.get("config"):
                explicit = {name for name in Config.option_names() if getattr(base, name) != getattr(DEFAULTS, name)}
                effective = {**{k: v for k, v in seed["config"].items() if k not in explicit}, **options}
                cfg = base.replace(**effective)
            previous = dict(vars(self))
            try:
                self._fresh(cfg, cfg.seed)
                self._effective_options = effective
                if cfg.failure_ratio:
                    self.set_random_failures(cfg.failure_ratio)
                for token, credits in cfg.accounts.items():
                    self.add_account(token, credits)
                if seed is not None:
                    apply_seed(self, seed)
            except BaseException:
                vars(self).clear()
                vars(self).update(previous)  # the reset never happened
                raise
            if "webhooks" in previous:
                previous["webhooks"].close()
            self._forget_saved()

    # ------------------------------------------------------------------ accounts

    def account(self, token: str | None) -> Account:
        """The account of ``token``, created on first use unless auth is strict (401)."""
        with self._lock:
            return self._account_of(token)

    def add_account(
        self, token: str, credits: int | None = None, *, email: str | None = None, tier: str | None = None
    ) -> Account:
        """Register ``token`` (required in strict auth) with ``credits`` (default: starting balance)."""
        if not isinstance(token, str) or not token.strip() or token == PUBLIC:
            raise ConfigError(f"a token must be a non-blank string, got {token!r}")
        if tier is not None and tier not in TIERS:
            raise ConfigError(f"tier must be one of {', '.join(TIERS)}, got {tier!r}")
        if credits is not None and (not isinstance(credits, int) or isinstance(credits, bool) or credits < 0):
            raise ConfigError(f"credits must be an integer >= 0, got {credits!r}")
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
        if not isinstance(credits, int) or isinstance(credits, bool) or credits < 0:
            raise ConfigError(f"credits must be an integer >= 0, got {credits!r}")
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
            account = self._account_of(token)
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
            account = self._account_of(token)
            if account.credits < charge:
                raise InsufficientCredits()
            now = self.now()
            timing = None
            if outcome is not None:  # explicit: no rule is used up, no random draw is made
                chosen: Outcome | None = Outcome.parse(outcome)
            else:
                scenario, timing = self.scenarios.decide(endpoint, account.token, name, prompt)
                chosen = scenario or derived
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

    # ------------------------------------------------------------------ storage

    def create_upload_urls(self, token: str | None, items: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
        """``POST /v1/files/upload-urls``: one signed PUT URL per ``(type, extension)``, in order."""
        with self._lock:
            account = self._account_of(token)
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
            if len(data) > self.config.max_upload_bytes:
                raise StorageError(
                    413, "payload_too_large",
                    f"The upload is {len(data)} bytes; the limit is {self.config.max_upload_bytes} bytes",
                )  # fmt: skip
            upload.data = bytes(data)
            self._touch("uploads", file_path)

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
