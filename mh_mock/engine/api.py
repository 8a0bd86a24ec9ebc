"""The audio-projects API as engine operations: accounts, projects, uploads and outputs. No HTTP.

Each method is one vendor endpoint (the routing layer calls it with the parsed body) and runs as
one transaction of its engine. Status is derived lazily: due clock transitions are applied
whenever the engine is touched, and in poll progression a GET moves its project on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..audio import render_wav, sniff_audio
from ..clock import format_timestamp
from ..config import Outcome
from ..errors import ConfigError, InsufficientCredits, StorageError, Unprocessable
from ..vocabulary import Endpoint, Status
from .models import Project, Upload
from .state import EXTENSIONS, OUTPUT_NAME, PUBLIC

if TYPE_CHECKING:
    from .context import Context

__all__ = ["Api"]

MAX_MUSIC_SECONDS = 3600


class Api:
    """The vendor endpoints of one engine (``engine.api``). ``token`` arguments are API keys."""

    def __init__(self, context: Context) -> None:
        self._context = context

    # ------------------------------------------------------------------ accounts

    def account_body(self, token: str | None) -> dict[str, Any]:
        """``GET /v1/account``: the live balance, after any refund that is due."""
        with self._context.transaction() as state:
            state.settle()
            account = state.account_of(token)
            return {
                "id": account.id,
                "email": account.email,
                "tier": account.tier,
                "credits": account.credits,
                "subscription": None,
            }

    # ------------------------------------------------------------------ creating projects

    def create_voice(
        self, token: str | None, *, prompt: str, voice_name: str, name: str | None = None,
        outcome: Outcome | str | None = None,
    ) -> Project:  # fmt: skip
        """``POST /v1/ai-voice-generator``: charge per character and queue the job."""
        with self._context.transaction() as state:
            limit = state.config.voice_prompt_limit
            derived = None
            if len(prompt) > limit:
                derived = Outcome.error(
                    "text_too_long", f"The text is {len(prompt)} characters long; the limit is {limit}"
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
        with self._context.transaction() as state:
            derived = self._clone_input_problem(state.check_token(token), audio_file_path)
            return self._create(
                token, Endpoint.VOICE_CLONER, name=name, prompt=prompt, charge=self._voice_charge(prompt),
                seconds=self._speech_seconds(prompt), outcome=outcome, derived=derived,
            )  # fmt: skip

    def create_music(
        self, token: str | None, *, duration: int, prompt: str, lyrics: str | None = None,
        instrumental: bool | None = None, name: str | None = None, outcome: Outcome | str | None = None,
    ) -> Project:  # fmt: skip
        """``POST /v1/ai-music-generator``: one credit per second of ``duration``."""
        if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= MAX_MUSIC_SECONDS:
            raise ConfigError(f"duration must be whole seconds between 1 and {MAX_MUSIC_SECONDS}, got {duration!r}")
        del lyrics, instrumental  # they shape real music, not our test tone
        return self._create(
            token, Endpoint.MUSIC_GENERATOR, name=name, prompt=prompt, charge=duration, seconds=duration,
            outcome=outcome, derived=None,
        )  # fmt: skip

    def _voice_charge(self, prompt: str) -> int:
        return math.ceil(len(prompt) * self._context.state.config.voice_credit_rate)

    def _speech_seconds(self, prompt: str) -> float:
        return max(1.0, len(prompt) / self._context.state.config.speech_chars_per_second)

    def _clone_input_problem(self, token: str, path: str) -> Outcome | None:
        if path.startswith(("http://", "https://")):
            try:
                parts = urlsplit(path)
            except ValueError as error:  # e.g. an unclosed IPv6 host: "http://[::1"
                return Outcome.error("invalid_file_format", f"The audio_file_path URL is not valid ({error}): {path!r}")
            extension = PurePosixPath(parts.path).suffix.lstrip(".").lower()
            library = (parts.hostname or "").endswith("magichour.ai") and "audioId=" in parts.query
            if library or extension in EXTENSIONS["audio"] or extension in EXTENSIONS["video"]:
                return None
            return Outcome.error(
                "invalid_file_format", f"The audio_file_path URL must end in an audio file extension, got {path!r}"
            )
        upload = self._context.state.uploads.get(path) if path.startswith("api-assets/") else None
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
        chosen = Outcome.parse(outcome) if outcome is not None else None  # a bad outcome changes nothing
        with self._context.transaction() as state:
            state.settle()
            if state.credits_of(token) < charge:  # refused before any account is created
                raise InsufficientCredits()
            account = state.account_of(token)
            now = state.now(account.token)
            timing = None
            if chosen is None:  # explicit outcomes use up no rule and draw nothing
                scenario, timing = state.scenarios.decide(endpoint, account.token, name, prompt)
                chosen = scenario or derived
            project = Project(
                id=state.ids.new(), owner=account.token, endpoint=endpoint,
                name=name if name is not None else f"{endpoint.label} - {format_timestamp(now)}",
                created_at=now, charge=charge, seconds=float(seconds),
                outcome=chosen or state.config.default_outcome, timing=timing or state.config.timings[endpoint],
            )  # fmt: skip
            account.credits -= charge
            account.charged += charge
            state.changed("accounts", account.token, False)
            state.add_project(project)
            return project

    # ------------------------------------------------------------------ reading and deleting

    def get_project(self, token: str | None, project_id: str) -> dict[str, Any]:
        """``GET /v1/audio-projects/{id}``; in poll progression the read moves the job on."""
        with self._context.transaction() as state:
            state.settle()
            project = state.owned(token, project_id)
            answer = state.project_answer(project)
            state.read(project)
            return answer

    def delete_project(self, token: str | None, project_id: str) -> None:
        """``DELETE /v1/audio-projects/{id}``: irreversible; an unfinished job is canceled first."""
        with self._context.transaction() as state:
            state.settle()
            state.disable(state.owned(token, project_id))

    # ------------------------------------------------------------------ storage

    def create_upload_urls(self, token: str | None, items: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
        """``POST /v1/files/upload-urls``: one signed PUT URL per ``(type, extension)``, in order."""
        for kind, extension in items:
            allowed = EXTENSIONS.get(kind, ())
            if extension not in allowed:
                raise Unprocessable(
                    f"'{extension}' is an invalid {kind} extension. Possible extensions are '{', '.join(allowed)}'"
                )
        with self._context.transaction() as state:
            account = state.account_of(token)
            expires = state.now(account.token) + state.config.upload_ttl
            answer = []
            for kind, extension in items:
                file_path = f"api-assets/{state.ids.new()}/{kind}.{extension}"
                state.uploads[file_path] = Upload(file_path, account.token, kind, extension, expires)
                state.changed("uploads", file_path, False)
                auth = state.signer.sign("upload", file_path)
                answer.append(
                    {
                        "upload_url": f"{state.config.storage_url}/{file_path}?auth-value={auth}",
                        "expires_at": format_timestamp(expires),
                        "file_path": file_path,
                    }
                )
            return answer

    def check_upload(self, file_path: str, auth_value: str | None) -> Upload:
        """The upload slot a PUT targets, if its URL is genuine and alive (before its body is read)."""
        with self._context.transaction() as state:
            upload = state.uploads.get(file_path)
            if upload is None or auth_value != state.signer.sign("upload", file_path):
                raise StorageError(404, "not_found", "Not Found")
            if state.now(upload.owner) > upload.expires_at:
                raise StorageError(
                    403, "url_expired",
                    f"This upload URL expired at {format_timestamp(upload.expires_at)}; "
                    "request a new one with POST /v1/files/upload-urls",
                )  # fmt: skip
            return upload

    def put_upload(self, file_path: str, auth_value: str | None, data: bytes) -> None:
        """``PUT <upload_url>``: store the bytes (a wrong signature looks like a missing file)."""
        with self._context.transaction() as state:
            upload = self.check_upload(file_path, auth_value)
            if len(data) > state.config.max_upload_bytes:
                raise StorageError(
                    413, "payload_too_large",
                    f"The upload is {len(data)} bytes; the limit is {state.config.max_upload_bytes} bytes",
                )  # fmt: skip
            upload.data = bytes(data)
            state.changed("uploads", file_path, False)

    def download(self, project_id: str, filename: str, expires: str | None, signature: str | None) -> bytes:
        """``GET <downloads[].url>``: the rendered WAV, while the URL is valid and the project lives."""
        with self._context.transaction() as state:
            state.settle()
            project = state.projects.get(project_id)
            valid = (
                project is not None
                and filename == OUTPUT_NAME
                and expires is not None
                and expires.isascii()
                and expires.isdigit()
                and len(expires) <= 16
                and signature == state.signer.sign("output", project_id, int(expires))
            )
            if not valid or project is None or not project.enabled or project.status is not Status.COMPLETE:
                raise StorageError(404, "not_found", "Not Found")
            assert expires is not None
            if state.now(project.owner) * 1000 > int(expires):
                raise StorageError(
                    403, "url_expired",
                    f"This download URL expired at {format_timestamp(int(expires) / 1000)}; "
                    f"GET /v1/audio-projects/{project_id} returns a fresh one",
                )  # fmt: skip
            key, seconds = f"{state.audio_key}:{project.id}", project.seconds
        return render_wav(key, seconds)

    def owner_of(self, project_id: str | None = None, file_path: str | None = None) -> str | None:
        """The token owning a project or upload (the journal notes it for storage calls)."""
        state = self._context.state
        if project_id is not None:
            project = state.projects.get(project_id)
            return None if project is None else project.owner
        upload = state.uploads.get(file_path or "")
        return None if upload is None else upload.owner
