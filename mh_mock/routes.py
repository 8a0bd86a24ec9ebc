"""The route table shared by both adapters, and the handlers that turn JSON into engine calls.

Each :class:`Route` names a method, a path template, the contract operation whose request schema
validates its body, and a handler. Handlers receive an :class:`Exchange` (the request, already
authenticated and parsed) and return ``(status, body)``; they never see HTTP objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .engine import Engine

__all__ = ["API_ROUTES", "Exchange", "Handler", "Route", "STORAGE_ROUTES", "Surface"]


class Surface(str, Enum):
    """Which host serves a route: the API, the storage host (upload/download URLs), or admin."""

    API = "api"
    STORAGE = "storage"
    ADMIN = "admin"


@dataclass(slots=True)
class Exchange:
    """What a handler gets: the engine, the caller's token, path parameters, query and body."""

    engine: Engine
    token: str | None
    params: dict[str, str]
    query: Mapping[str, str]
    body: Any
    """Parsed and validated JSON for API routes; raw bytes for storage uploads."""
    project_id: str | None = None
    """Set by handlers so the journal can say which project a call was about."""


Result = tuple[int, Any]
Handler = Callable[[Exchange], Result]


@dataclass(frozen=True)
class Route:
    """One endpoint: ``method`` + ``path`` (``{name}`` segments are parameters)."""

    method: str
    path: str
    name: str
    handler: Handler
    surface: Surface = Surface.API
    operation_id: str | None = None
    """The contract operation: its request schema validates the body, if it has one."""
    raw_body: bool = False
    """Hand the handler the raw bytes instead of parsed JSON (storage PUT)."""
    summary: str = ""

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


# ---------------------------------------------------------------------------- API handlers


def _create_voice(x: Exchange) -> Result:
    style = x.body["style"]
    project = x.engine.create_voice(
        x.token, prompt=style["prompt"], voice_name=style["voice_name"], name=x.body.get("name")
    )
    x.project_id = project.id
    return 200, {"id": project.id, "credits_charged": project.charge}


def _clone_voice(x: Exchange) -> Result:
    project = x.engine.clone_voice(
        x.token,
        audio_file_path=x.body["assets"]["audio_file_path"],
        prompt=x.body["style"]["prompt"],
        name=x.body.get("name"),
    )
    x.project_id = project.id
    return 200, {"id": project.id, "credits_charged": project.charge}


def _create_music(x: Exchange) -> Result:
    style = x.body["style"]
    project = x.engine.create_music(
        x.token,
        duration=int(x.body["duration"]),
        prompt=style["prompt"],
        lyrics=style.get("lyrics"),
        instrumental=style.get("instrumental"),
        name=x.body.get("name"),
    )
    x.project_id = project.id
    return 200, {"id": project.id, "credits_charged": project.charge}


def _get_project(x: Exchange) -> Result:
    x.project_id = x.params["id"]
    return 200, x.engine.get_project(x.token, x.params["id"])


def _delete_project(x: Exchange) -> Result:
    x.project_id = x.params["id"]
    x.engine.delete_project(x.token, x.params["id"])
    return 204, None


def _upload_urls(x: Exchange) -> Result:
    items = [(item["type"], item["extension"]) for item in x.body["items"]]
    return 200, {"items": x.engine.create_upload_urls(x.token, items)}


def _account(x: Exchange) -> Result:
    return 200, x.engine.account_body(x.token)


# ---------------------------------------------------------------------------- storage handlers


def _put_upload(x: Exchange) -> Result:
    file_path = f"api-assets/{x.params['asset']}/{x.params['name']}"
    x.engine.put_upload(file_path, x.query.get("auth-value"), x.body)
    return 200, None


def _download(x: Exchange) -> Result:
    x.project_id = x.params["id"]
    data = x.engine.download(x.params["id"], x.params["name"], x.query.get("expires"), x.query.get("signature"))
    return 200, data


API_ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/ai-voice-generator", "voice_generator.create", _create_voice,
          operation_id="aiVoiceGenerator.createAudio", summary="AI Voice Generator"),
    Route("POST", "/v1/ai-voice-cloner", "voice_cloner.create", _clone_voice,
          operation_id="aiVoiceCloner.createAudio", summary="AI Voice Cloner"),
    Route("POST", "/v1/ai-music-generator", "music_generator.create", _create_music,
          operation_id="aiMusicGenerator.createAudio", summary="AI Music Generator"),
    Route("GET", "/v1/audio-projects/{id}", "projects.get", _get_project,
          operation_id="audioProjects.getDetails", summary="Get audio details"),
    Route("DELETE", "/v1/audio-projects/{id}", "projects.delete", _delete_project,
          operation_id="audioProjects.delete", summary="Delete audio"),
    Route("POST", "/v1/files/upload-urls", "files.upload_urls", _upload_urls,
          operation_id="videoAssets.generatePresignedUrl", summary="Generate asset upload urls"),
    Route("GET", "/v1/account", "account.get", _account,
          operation_id="account.get", summary="Get account"),
)  # fmt: skip
"""The vendor's endpoints, exactly as in the contract."""

STORAGE_ROUTES: tuple[Route, ...] = (
    Route("PUT", "/api-assets/{asset}/{name}", "storage.upload", _put_upload,
          surface=Surface.STORAGE, raw_body=True, summary="Upload an asset to its upload_url"),
    Route("GET", "/outputs/{id}/{name}", "storage.download", _download,
          surface=Surface.STORAGE, summary="Download rendered audio from a downloads[].url"),
)  # fmt: skip
"""The storage host: what ``upload_url`` and ``downloads[].url`` point at (no auth header)."""
