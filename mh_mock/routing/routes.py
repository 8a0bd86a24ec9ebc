"""The route table of the vendor API and the storage host, and the handlers that call the engine.

Each :class:`Route` names a method, a path template, the schema that validates its body, and a
handler. Handlers receive an :class:`Exchange` (the request, already authenticated and parsed)
and return ``(status, body)``; they never see HTTP objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..vocabulary import RouteName, StrEnum

if TYPE_CHECKING:
    from ..engine.engine import Engine

__all__ = [
    "API_ROUTES",
    "STORAGE_ROUTES",
    "Exchange",
    "Handler",
    "Result",
    "Route",
    "RouteTable",
    "Surface",
    "upload_path",
]


class Surface(StrEnum):
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
    body: Any = None
    """Parsed and validated JSON, or the raw bytes of a storage upload."""
    query_args: dict[str, Any] = field(default_factory=dict)
    """Query parameters converted and validated by the route's query schema (admin routes)."""
    project_id: str | None = None
    """Set by handlers so the journal can say which project a call was about."""
    owner: str | None = None
    """Set by storage handlers: the token owning the upload or project."""
    context: Any = None
    """The adapter's operation context (admin routes)."""


Result = tuple[int, Any]
Handler = Callable[[Exchange], Result]


@dataclass(frozen=True, eq=False)
class Route:
    """One endpoint: ``method`` + ``path`` (``{name}`` segments are parameters)."""

    method: str
    path: str
    name: str
    handler: Handler
    surface: Surface = Surface.API
    operation_id: str | None = None
    """The contract operation whose request schema validates the body (vendor routes)."""
    body_schema: Mapping[str, Any] | None = None
    """The body's JSON Schema (admin routes)."""
    query_schema: Mapping[str, Any] | None = None
    """JSON Schema of each query parameter (admin routes)."""
    raw_body: bool = False
    """Hand the handler the raw bytes instead of parsed JSON (storage PUT)."""
    summary: str = ""

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class RouteTable:
    """Routes by path: a dict lookup for fixed paths, segment matching for templates (exact: an extra
    or trailing slash is another path). Paths are percent-encoded; parameters come back decoded."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._dynamic: list[tuple[tuple[str, ...], dict[str, Route]]] = []
        for route in routes:
            if "{" not in route.path:
                self._static.setdefault(route.path, {})[route.method] = route
                continue
            for segments, methods in self._dynamic:
                if segments == route.segments:
                    methods[route.method] = route
                    break
            else:
                self._dynamic.append((route.segments, {route.method: route}))

    def lookup(self, path: str) -> tuple[dict[str, Route] | None, dict[str, str]]:
        """The routes of ``path`` by method (None if no route has that path) and its parameters."""
        methods = self._static.get(path)
        if methods is not None:
            return methods, {}
        if not path.startswith("/"):
            return None, {}
        segments = path[1:].split("/")
        for template, candidates in self._dynamic:
            if len(template) == len(segments):
                params = _parameters(template, segments)
                if params is not None:
                    return candidates, params
        return None, {}


def _parameters(template: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    params = {}
    for pattern, actual in zip(template, segments, strict=True):
        if pattern[0] != "{":
            if pattern != actual:
                return None
            continue
        if not actual:
            return None
        try:
            params[pattern[1:-1]] = unquote(actual, errors="strict") if "%" in actual else actual
        except UnicodeDecodeError:  # not a name anything could have: no route
            return None
    return params


# ---------------------------------------------------------------------------- API handlers


def _created(x: Exchange, project: Any) -> Result:
    x.project_id = project.id
    return 200, {"id": project.id, "credits_charged": project.charge}


def _create_voice(x: Exchange) -> Result:
    style = x.body["style"]
    return _created(
        x,
        x.engine.api.create_voice(
            x.token, prompt=style["prompt"], voice_name=style["voice_name"], name=x.body.get("name")
        ),
    )


def _clone_voice(x: Exchange) -> Result:
    return _created(
        x,
        x.engine.api.clone_voice(
            x.token, audio_file_path=x.body["assets"]["audio_file_path"], prompt=x.body["style"]["prompt"],
            name=x.body.get("name"),
        ),
    )  # fmt: skip


def _create_music(x: Exchange) -> Result:
    style = x.body["style"]
    project = x.engine.api.create_music(
        x.token, duration=int(x.body["duration"]), prompt=style["prompt"], lyrics=style.get("lyrics"),
        instrumental=style.get("instrumental"), name=x.body.get("name"),
    )  # fmt: skip
    return _created(x, project)


def _get_project(x: Exchange) -> Result:
    x.project_id = x.params["id"]
    return 200, x.engine.api.get_project(x.token, x.params["id"])


def _delete_project(x: Exchange) -> Result:
    x.project_id = x.params["id"]
    x.engine.api.delete_project(x.token, x.params["id"])
    return 204, None


def _upload_urls(x: Exchange) -> Result:
    items = [(item["type"], item["extension"]) for item in x.body["items"]]
    return 200, {"items": x.engine.api.create_upload_urls(x.token, items)}


def _account(x: Exchange) -> Result:
    return 200, x.engine.api.account_body(x.token)


# ---------------------------------------------------------------------------- storage handlers


def upload_path(params: Mapping[str, str]) -> str:
    """The ``file_path`` a storage PUT targets."""
    return f"api-assets/{params['asset']}/{params['name']}"


def _put_upload(x: Exchange) -> Result:
    file_path = upload_path(x.params)
    x.engine.api.put_upload(file_path, x.query.get("auth-value"), x.body)
    return 200, None


def _download(x: Exchange) -> Result:
    x.project_id = x.params["id"]
    data = x.engine.api.download(x.params["id"], x.params["name"], x.query.get("expires"), x.query.get("signature"))
    return 200, data


API_ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/ai-voice-generator", RouteName.VOICE_GENERATOR_CREATE, _create_voice,
          operation_id="aiVoiceGenerator.createAudio", summary="AI Voice Generator"),
    Route("POST", "/v1/ai-voice-cloner", RouteName.VOICE_CLONER_CREATE, _clone_voice,
          operation_id="aiVoiceCloner.createAudio", summary="AI Voice Cloner"),
    Route("POST", "/v1/ai-music-generator", RouteName.MUSIC_GENERATOR_CREATE, _create_music,
          operation_id="aiMusicGenerator.createAudio", summary="AI Music Generator"),
    Route("GET", "/v1/audio-projects/{id}", RouteName.PROJECTS_GET, _get_project,
          operation_id="audioProjects.getDetails", summary="Get audio details"),
    Route("DELETE", "/v1/audio-projects/{id}", RouteName.PROJECTS_DELETE, _delete_project,
          operation_id="audioProjects.delete", summary="Delete audio"),
    Route("POST", "/v1/files/upload-urls", RouteName.FILES_UPLOAD_URLS, _upload_urls,
          operation_id="videoAssets.generatePresignedUrl", summary="Generate asset upload urls"),
    Route("GET", "/v1/account", RouteName.ACCOUNT_GET, _account, operation_id="account.get", summary="Get account"),
)  # fmt: skip
"""The vendor's endpoints, exactly as in the contract."""

STORAGE_ROUTES: tuple[Route, ...] = (
    Route("PUT", "/api-assets/{asset}/{name}", RouteName.STORAGE_UPLOAD, _put_upload,
          surface=Surface.STORAGE, raw_body=True, summary="Upload an asset to its upload_url"),
    Route("GET", "/outputs/{id}/{name}", RouteName.STORAGE_DOWNLOAD, _download,
          surface=Surface.STORAGE, summary="Download rendered audio from a downloads[].url"),
)  # fmt: skip
"""The storage host: what ``upload_url`` and ``downloads[].url`` point at (no auth header)."""
