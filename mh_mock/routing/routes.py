"""The route table of the vendor API and the storage host, and the handlers that call the engine.

Each :class:`Route` names a method, a path template, the schema that validates its body, and a
handler. Handlers receive an :class:`Exchange` (the request, already authenticated and parsed)
and return ``(status, body)``; they never see HTTP objects. The vendor's routes are derived from
:data:`mh_mock.vendor.ROUTES`: every audio job shares one handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .._json import Encoded
from ..vendor import JOBS, ROUTES, AudioJob, RouteName
from ..vocabulary import StrEnum
from .answers import AnswerCache

if TYPE_CHECKING:
    from ..engine.engine import Engine

__all__ = ["Exchange", "Handler", "Result", "Route", "RouteTable", "Surface", "upload_path", "vendor_routes"]


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
    """Parsed and validated JSON, or the received file of a storage upload (a :class:`~mh_mock.blob.Blob`)."""
    query_args: dict[str, Any] = field(default_factory=dict)
    """Query parameters converted and validated by the route's query schema (admin routes)."""
    project_id: str | None = None
    """The project the call is about (the journal says so)."""
    owner: str | None = None
    """The token the call is about: the caller's, or for a storage call the owner of the upload or project."""


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
    """Hand the handler the received file instead of parsed JSON (storage PUT)."""
    about: str | None = None
    """The path parameter naming the project the call is about."""
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


def upload_path(params: Mapping[str, str]) -> str:
    """The ``file_path`` a storage PUT targets."""
    return f"api-assets/{params['asset']}/{params['name']}"


# ---------------------------------------------------------------------------- handlers


def _creator(job: AudioJob) -> Handler:
    def create(x: Exchange) -> Result:
        project = x.engine.api.create_job(x.token, job.endpoint, job.read(x.body))
        x.project_id = project.id
        answer = {"id": project.id, "credits_charged": project.charge}  # (an id is [0-9a-z]: no escaping)
        return 200, Encoded(answer, b'{"id":"%s","credits_charged":%d}' % (project.id.encode(), project.charge))

    return create


def _project_reader(answers: AnswerCache) -> Handler:
    def get_project(x: Exchange) -> Result:
        return 200, x.engine.api.read_project(x.token, x.params["id"], answers.render)

    return get_project


def _delete_project(x: Exchange) -> Result:
    x.engine.api.delete_project(x.token, x.params["id"])
    return 204, None


def _upload_urls(x: Exchange) -> Result:
    items = [(item["type"], item["extension"]) for item in x.body["items"]]
    return 200, {"items": x.engine.api.create_upload_urls(x.token, items)}


def _account(x: Exchange) -> Result:
    return 200, x.engine.api.account_body(x.token)


def _put_upload(x: Exchange) -> Result:
    x.engine.api.put_upload(upload_path(x.params), x.query.get("auth-value"), x.body)
    return 200, None


def _download(x: Exchange) -> Result:
    query = x.query
    return 200, x.engine.api.download(x.params["id"], x.params["name"], query.get("expires"), query.get("signature"))


def vendor_routes(answers: AnswerCache) -> tuple[Route, ...]:
    """The vendor's routes and the storage host's (:data:`mh_mock.vendor.ROUTES`), with their handlers."""
    handlers: dict[str, Handler] = {job.route: _creator(job) for job in JOBS.values()}
    handlers |= {
        RouteName.PROJECTS_GET: _project_reader(answers),
        RouteName.PROJECTS_DELETE: _delete_project,
        RouteName.FILES_UPLOAD_URLS: _upload_urls,
        RouteName.ACCOUNT_GET: _account,
        RouteName.STORAGE_UPLOAD: _put_upload,
        RouteName.STORAGE_DOWNLOAD: _download,
    }
    return tuple(
        Route(
            route.method,
            route.path,
            route.name,
            handlers[route.name],
            surface=Surface.STORAGE if route.storage else Surface.API,
            operation_id=route.operation_id,
            raw_body=route.raw_body,
            about=route.about,
            summary=route.summary,
        )
        for route in ROUTES
    )
