"""The audio-projects API as engine operations: accounts, projects, uploads and outputs. No HTTP.

Each method is one vendor endpoint (the routing layer calls it with the parsed body) and runs as
one transaction of its engine. Status is derived lazily: due clock transitions are applied
whenever the engine is touched, and in poll progression a GET moves its project on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..audio import Wav
from ..blob import Blob
from ..clock import format_timestamp
from ..config import Outcome
from ..errors import StorageError, Unprocessable
from ..vendor import Endpoint
from ..vocabulary import Status
from . import jobs
from .models import Project, ProjectBody, Upload
from .state import EXTENSIONS, OUTPUT_NAME

if TYPE_CHECKING:
    from .context import Context

__all__ = ["Api"]

T = TypeVar("T")

Identity = tuple[str, int, int, int]
"""What a project's GET body depends on: (project id, state generation, project version, URL expiry)."""

Render = Callable[[Identity, Callable[[], ProjectBody]], T]
"""How :meth:`Api.read_project` answers: given the body's :data:`Identity` and a function that builds
the body, the answer (the routing layer keeps encoded answers by identity)."""


def _body(identity: Identity, build: Callable[[], ProjectBody]) -> ProjectBody:
    return build()


class Api:
    """The vendor endpoints of one engine (``engine.api``). ``token`` arguments are API keys."""

    def __init__(self, context: Context) -> None:
        self._context = context

    # ------------------------------------------------------------------ accounts

    def account_body(self, token: str | None) -> dict[str, Any]:
        """``GET /v1/account``: the live balance, after any refund that is due."""
        with self._context.settled() as state:
            account = state.account_of(token)
            return {
                "id": account.id,
                "email": account.email,
                "tier": account.tier,
                "credits": account.credits,
                "subscription": None,
            }

    # ------------------------------------------------------------------ projects

    def create(
        self,
        token: str | None,
        endpoint: Endpoint | str,
        *,
        prompt: str,
        outcome: Outcome | str | None = None,
        **arguments: Any,
    ) -> Project:
        """Create a job of ``endpoint`` (see :data:`mh_mock.vendor.JOBS`) as the vendor's endpoint does:
        charge it and queue it. ``arguments`` are the kind's fields (``voice_name``, ``duration``, …)
        and ``name``; ``outcome`` decides how it ends (else rules, the random mode, its input, the default)."""
        return self.create_job(token, endpoint, jobs.arguments_of(endpoint, {"prompt": prompt, **arguments}), outcome)

    def create_job(
        self, token: str | None, endpoint: Endpoint | str, arguments: Mapping[str, Any], outcome: Any = None
    ) -> Project:
        """:meth:`create` with every argument of the kind given (as a request body is read)."""
        with self._context.transaction() as state:
            return jobs.create(state, token, Endpoint(endpoint), arguments, outcome)

    def get_project(self, token: str | None, project_id: str) -> ProjectBody:
        """``GET /v1/audio-projects/{id}``; in poll progression the read moves the job on."""
        return self.read_project(token, project_id, _body)

    def read_project(self, token: str | None, project_id: str, render: Render[T]) -> T:
        """:meth:`get_project`, answered by ``render`` (see :data:`Render`)."""
        with self._context.transaction() as state:
            project = state.owned(token, project_id)
            state.catch_up(project)
            identity = (project.id, state.generation, project.version, state.download_expiry(project))
            answer = render(identity, lambda: state.project_body(project))
            state.read(project)
            return answer

    def delete_project(self, token: str | None, project_id: str) -> None:
        """``DELETE /v1/audio-projects/{id}``: irreversible; an unfinished job is canceled first."""
        with self._context.transaction() as state:
            project = state.owned(token, project_id)
            state.catch_up(project)
            state.disable(project)

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
            expires = state.now(account.token) + state.config_of(account.token).upload_ttl
            answer = []
            for kind, extension in items:
                file_path = f"api-assets/{state.ids.new()}/{kind}.{extension}"
                state.uploads[file_path] = Upload(file_path, account.token, expires)
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
                    403,
                    "url_expired",
                    f"This upload URL expired at {format_timestamp(upload.expires_at)}; "
                    "request a new one with POST /v1/files/upload-urls",
                )
            return upload

    def put_upload(self, file_path: str, auth_value: str | None, file: Blob | bytes) -> None:
        """``PUT <upload_url>``: keep the file's size, digest and head (a wrong signature looks like a missing file)."""
        received = file if isinstance(file, Blob) else Blob.of(file)
        with self._context.transaction() as state:
            upload = self.check_upload(file_path, auth_value)
            if received.size > state.config.max_upload_bytes:
                raise StorageError(
                    413,
                    "payload_too_large",
                    f"The upload is {received.size} bytes; the limit is {state.config.max_upload_bytes} bytes",
                )
            upload.file = received
            state.changed("uploads", file_path, False)

    def download(self, project_id: str, filename: str, expires: str | None, signature: str | None) -> Wav:
        """``GET <downloads[].url>``: the rendered WAV, while the URL is valid and the project lives."""
        with self._context.transaction() as state:
            project = state.projects.get(project_id)
            if project is not None:
                state.catch_up(project)
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
                    403,
                    "url_expired",
                    f"This download URL expired at {format_timestamp(int(expires) / 1000)}; "
                    f"GET /v1/audio-projects/{project_id} returns a fresh one",
                )
            return Wav(f"{state.audio_key}:{project.id}", project.seconds)

    def owner_of(self, project_id: str | None = None, file_path: str | None = None) -> str | None:
        """The token owning a project or upload (the journal notes it for storage calls)."""
        with self._context.reading() as state:
            if project_id is not None:
                project = state.projects.get(project_id)
                return None if project is None else project.owner
            upload = state.uploads.get(file_path or "")
            return None if upload is None else upload.owner
