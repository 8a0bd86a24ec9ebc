"""The dispatcher: one framework-free request handler that both adapters call.

An adapter turns its native request into a :class:`Request`, calls :meth:`Dispatcher.handle`,
and turns the :class:`Response` back. Routing, auth, body parsing and validation, fault
injection and its HTTP meaning, error bodies and the journal all live here once, so both modes
behave identically.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._json import Encoded, dump_json
from ..contract import load_contract
from ..errors import (
    ApiError,
    ConfigError,
    Forbidden,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from ..journal import binary_summary
from ..schema import SchemaValidator
from ..vocabulary import FaultKind, RouteName
from .bodies import coerce_query, parse_json, validate
from .routes import API_ROUTES, STORAGE_ROUTES, Exchange, Route, RouteTable, Surface, upload_path

if TYPE_CHECKING:
    from ..control.operations import OpContext
    from ..engine.engine import Engine
    from ..engine.faults import Fault

__all__ = ["ALL_SURFACES", "JOURNAL_BODY_LIMIT", "Dispatcher", "Request", "Response", "bearer", "unmatched_message"]

logger = logging.getLogger("mh_mock")

ALL_SURFACES = frozenset(Surface)
JOURNAL_BODY_LIMIT = 8 * 1024
"""Bodies and answers up to this size are kept in the journal as JSON; larger ones as a summary."""
_JSON = "application/json"
_SERVER_ERRORS = MappingProxyType(
    {
        500: ("internal_server_error", "Internal Server Error"),
        502: ("bad_gateway", "Bad Gateway"),
        503: ("service_unavailable", "Service Unavailable"),
    }
)


@dataclass(slots=True)
class Request:
    """A request as the dispatcher sees it; ``path`` is relative to the fake's base URL."""

    method: str
    url: str
    path: str
    """Percent-encoded, as sent (path parameters are decoded after matching)."""
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Case-insensitive on lookup (httpx and Starlette headers both are)."""
    body: bytes = b""
    authorization: Sequence[str] = ()
    """Every Authorization header sent (more than one is refused)."""


@dataclass(slots=True)
class Response:
    """What to answer: status, body bytes and headers (content-type included)."""

    status: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    fault: Fault | None = None
    """A fault the adapter must act out: delay, drop, refuse or stall the connection."""


def unmatched_message(method: str, url: str, served: Iterable[str]) -> str:
    """The 404 message for a request no route matches: what was sent, and what is served."""
    return f"No mh-mock route matches {method} {url}. This host serves: {', '.join(served)}"


def bearer(values: Sequence[str]) -> str | None:
    """The token of a single ``Authorization: Bearer`` header; a 400 for several headers."""
    if len(values) > 1:
        raise InvalidRequest("The request has more than one Authorization header; send exactly one")
    if not values or not values[0]:
        return None
    scheme, _, token = values[0].strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class Dispatcher:
    """Routes :class:`Request` objects to handlers over one engine and records them.

    ``context`` (an :class:`~mh_mock.control.operations.OpContext`) enables the admin routes;
    ``admin_token``, if set, must come in the ``x-mh-mock-admin-token`` header of admin calls.
    ``extra_served`` lists what the adapter serves besides the route table (``GET /openapi.json``).
    """

    def __init__(
        self, engine: Engine, *, context: OpContext | None = None, admin_token: str | None = None,
        extra_served: Sequence[str] = (),
    ) -> None:  # fmt: skip
        routes: tuple[Route, ...] = (*API_ROUTES, *STORAGE_ROUTES)
        if context is not None:
            from ..control.admin import admin_routes

            routes = (*routes, *admin_routes())
        self.engine = engine
        self.routes = routes
        self.context = context
        self._admin_token = admin_token
        self._extra_served = tuple(extra_served)
        contract = load_contract()
        self._validators: dict[Route, tuple[SchemaValidator, Any] | None] = {}
        self._query_validators: dict[Route, SchemaValidator] = {}
        for route in routes:
            if route.operation_id is not None and route.operation_id in contract.requests:
                self._validators[route] = (
                    contract.requests[route.operation_id], contract.large_enums[route.operation_id]
                )  # fmt: skip
            elif route.body_schema is not None:
                self._validators[route] = (SchemaValidator(route.body_schema), ())
            if route.query_schema:
                self._query_validators[route] = SchemaValidator({"type": "object", "properties": route.query_schema})
        self.table = RouteTable(routes)

    # ------------------------------------------------------------------ entry points

    def handle(self, request: Request, surfaces: frozenset[Surface] = ALL_SURFACES) -> Response:
        """Answer ``request``; only routes of ``surfaces`` are served (a host serves some)."""
        route, params, allowed = self.match(request.method, request.path, surfaces)
        if route is None:
            return self._unrouted(request, allowed, surfaces)
        if route.surface is Surface.ADMIN:
            return self._admin(request, route, params)
        return self._api(request, route, params)

    def match(
        self, method: str, path: str, surfaces: frozenset[Surface] = ALL_SURFACES
    ) -> tuple[Route | None, dict[str, str], list[str]]:
        """The route for ``method path`` (or None), its path parameters, and the methods the path allows."""
        methods, params = self.table.lookup(path)
        served = {m: r for m, r in (methods or {}).items() if r.surface in surfaces}
        return served.get(method), params, sorted(served)

    def refuse_early(self, request: Request, declared_length: str | None) -> Response | None:
        """The answer to a request that can be refused before its body is read (the ASGI adapter
        asks): a declared body over the limit (413), or an upload to a URL that is not valid."""
        route, params, _ = self.match(request.method, request.path)
        if route is None or route.surface is Surface.ADMIN:
            return None
        limit = self.body_limit(request.method, request.path)
        if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
            error = PayloadTooLarge(f"The request body is {declared_length} bytes; the limit is {limit} bytes")
            response = self._encode(request, error.status, error.body())
            self._record(
                request, route, Exchange(self.engine, None, params, request.query), response, error.body(), False
            )
            return response
        if route.name == RouteName.STORAGE_UPLOAD:
            try:
                self.engine.api.check_upload(upload_path(params), request.query.get("auth-value"))
            except ApiError:
                return self.handle(request)  # the same refusal, journaled, without reading the body
        return None

    def body_limit(self, method: str, path: str) -> int:
        """The largest body a request to ``method path`` may carry (uploads get the upload limit)."""
        route, _, _ = self.match(method, path)
        config = self.engine.config
        return config.max_upload_bytes if route is not None and route.raw_body else config.max_body_bytes

    def served(self, surfaces: frozenset[Surface]) -> list[str]:
        """What a host with ``surfaces`` serves, as ``METHOD /path`` strings."""
        listed = [str(r) for r in self.routes if r.surface in surfaces]
        return [*listed, *self._extra_served] if Surface.API in surfaces else listed

    # ------------------------------------------------------------------ vendor and storage calls

    def _api(self, request: Request, route: Route, params: dict[str, str]) -> Response:
        x = Exchange(self.engine, None, params, request.query)
        fault: Fault | None = None
        handled = False
        status: int
        payload: Any
        headers: dict[str, str]
        try:
            x.token = bearer(request.authorization)
            if route.surface is Surface.STORAGE:  # no token: the call is about its owner's upload or project
                x.owner = self.engine.api.owner_of(
                    project_id=params.get("id"), file_path=None if "id" in params else upload_path(params)
                )
            fault = self.engine.controls.pick_fault(route.name, params.get("id"), x.token or x.owner)
        except ApiError as error:
            status, payload, headers = error.status, error.body(), {}
        else:
            if fault is not None and fault.http_status is not None:
                status, payload, headers = _fault_answer(fault)
            elif fault is not None and not fault.kind.answers and not fault.after:
                status, payload, headers = 0, None, {}
            else:
                handled = True
                status, payload, headers = self._run(request, route, x)
        response = self._encode(request, status, payload)
        response.headers.update(headers)
        response.fault = fault
        self._record(request, route, x, response, payload, handled)
        return response

    def _run(self, request: Request, route: Route, x: Exchange) -> tuple[int, Any, dict[str, str]]:
        try:
            if route.surface is Surface.API:
                self.engine.state.check_token(x.token)  # 401 before anything about the body
                x.owner = x.token
            limit = self.engine.config.max_upload_bytes if route.raw_body else self.engine.config.max_body_bytes
            if len(request.body) > limit:
                raise PayloadTooLarge(f"The request body is {len(request.body)} bytes; the limit is {limit} bytes")
            x.body = request.body if route.raw_body else self._parse(request, route)
            status, payload = route.handler(x)
            return status, payload, {}
        except ApiError as error:
            return error.status, error.body(), {}
        except ConfigError as error:
            return 400, {"code": "invalid_request", "message": str(error)}, {}
        except Exception as error:  # a bug of ours; never blame the client with a crash
            logger.exception("mh-mock failed on %s %s", request.method, request.url)
            return (
                500,
                {"code": "internal_server_error", "message": f"mh-mock bug: {type(error).__name__}: {error}"},
                {},
            )

    def _parse(self, request: Request, route: Route) -> Any:
        checks = self._validators.get(route)
        if checks is None:
            return None  # a body on GET or DELETE is ignored, as the API does
        _check_json_type(request.headers.get("content-type"))
        if not request.body.strip():
            raise InvalidRequest("Missing request body")
        document = parse_json(request.body)
        validate(document, *checks)
        return document

    def _record(
        self, request: Request, route: Route | None, x: Exchange | None, response: Response, payload: Any,
        handled: bool,
    ) -> None:  # fmt: skip
        fault = response.fault
        lost = fault is not None and not fault.kind.answers
        self.engine.journal.record(
            at=self.engine.now(None if x is None else x.owner),
            method=request.method,
            url=request.url,
            route=None if route is None else str(route.name),
            token=None if x is None else x.token,
            body=_journal_body(request.body, None if x is None else x.body, route, response.status),
            status=0 if lost else response.status,
            project_id=None if x is None else x.project_id,
            response=_journal_answer(payload, response.content),
            fault=None if fault is None else fault.kind.value,
            handled=handled,
            owner=None if x is None else x.owner,
        )

    # ------------------------------------------------------------------ admin calls

    def _admin(self, request: Request, route: Route, params: dict[str, str]) -> Response:
        x = Exchange(self.engine, None, params, request.query, context=self.context)
        try:
            if self._admin_token is not None and request.headers.get("x-mh-mock-admin-token") != self._admin_token:
                raise Forbidden("The admin API needs the right x-mh-mock-admin-token header")
            if request.method not in ("GET", "HEAD"):
                _check_json_type(request.headers.get("content-type"), required=True)
            if len(request.body) > self.engine.config.max_body_bytes:
                raise PayloadTooLarge(f"The request body is {len(request.body)} bytes; the limit is "
                                      f"{self.engine.config.max_body_bytes} bytes")  # fmt: skip
            query_schemas = route.query_schema or {}
            x.query_args = coerce_query(request.query, query_schemas)
            if route in self._query_validators:
                validate(x.query_args, self._query_validators[route])
            x.body = self._admin_body(request, route)
            status, payload = route.handler(x)
        except ApiError as error:
            status, payload = error.status, error.body()
        except ConfigError as error:
            status, payload = 400, {"code": "invalid_request", "message": str(error)}
        except Exception as error:
            logger.exception("mh-mock failed on %s %s", request.method, request.url)
            status, payload = (
                500,
                {"code": "internal_server_error", "message": f"mh-mock bug: {type(error).__name__}: {error}"},
            )
        return self._encode(request, status, payload)

    def _admin_body(self, request: Request, route: Route) -> Any:
        checks = self._validators.get(route)
        if checks is None:
            return None
        document = parse_json(request.body) if request.body.strip() else {}
        validate(document, *checks)
        return document

    # ------------------------------------------------------------------ no route

    def _unrouted(self, request: Request, allowed: list[str], surfaces: frozenset[Surface]) -> Response:
        headers: dict[str, str] = {}
        if allowed:
            error: ApiError = MethodNotAllowed(
                f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}"
            )
            headers["allow"] = ", ".join(allowed)
        else:
            error = NotFound(unmatched_message(request.method, request.url, self.served(surfaces)))
        response = self._encode(request, error.status, error.body())
        response.headers.update(headers)
        self._record(request, None, None, response, error.body(), False)
        return response

    def _encode(self, request: Request, status: int, payload: Any) -> Response:
        try:
            if payload is None:
                return Response(status)
            if isinstance(payload, bytes):
                return Response(status, payload, {"content-type": "audio/wav"})
            if isinstance(payload, Encoded):
                return Response(status, payload.encoded, {"content-type": _JSON})
            return Response(status, dump_json(payload), {"content-type": _JSON})
        except Exception as error:  # a bug of ours (an answer that cannot be serialised)
            logger.exception("mh-mock could not encode its answer to %s %s", request.method, request.url)
            body = {"code": "internal_server_error", "message": f"mh-mock bug: {type(error).__name__}"}
            return Response(500, dump_json(body), {"content-type": _JSON})


def _check_json_type(content_type: str | None, *, required: bool = False) -> None:
    if content_type is None:
        if required:
            raise UnsupportedMediaType("Admin calls that change state need Content-Type: application/json")
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media != _JSON and not media.endswith("+json"):
        if required:
            raise UnsupportedMediaType(f"Admin calls need Content-Type: application/json, got {content_type!r}")
        raise InvalidRequest(f"Content-Type must be application/json, got {content_type!r}")


def _fault_answer(fault: Fault) -> tuple[int, dict[str, str], dict[str, str]]:
    """The HTTP meaning of a ``rate_limit`` or ``server_error`` fault: status, body, headers."""
    if fault.kind is FaultKind.RATE_LIMIT:
        seconds = 1 if fault.retry_after is None else fault.retry_after
        body = {"code": "rate_limited", "message": f"Too Many Requests: retry after {seconds} s"}
        return 429, body, {"retry-after": str(seconds)}
    status = fault.http_status or 500
    code, message = _SERVER_ERRORS[status]
    return status, {"code": code, "message": message}, {}


def _journal_body(raw: bytes, parsed: Any, route: Route | None, status: int) -> Any:
    if not raw:
        return None
    if route is not None and route.raw_body:
        return binary_summary(raw) if 0 < status < 400 else {"bytes": len(raw)}
    if parsed is not None and len(raw) <= JOURNAL_BODY_LIMIT:
        return parsed
    return {"bytes": len(raw), "prefix": raw[:200].decode("utf-8", "replace")}


def _journal_answer(payload: Any, content: bytes) -> Any:
    if isinstance(payload, bytes):
        return binary_summary(payload)
    if len(content) > JOURNAL_BODY_LIMIT:
        return {"bytes": len(content)}
    return payload
