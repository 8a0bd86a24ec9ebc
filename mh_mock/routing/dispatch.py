"""The dispatcher: one framework-free request handler that both adapters call.

An adapter turns its native request into a :class:`Request`, calls :meth:`Dispatcher.handle`,
and turns the :class:`Response` back. Routing, auth, body parsing and validation, fault
injection and its HTTP meaning, error bodies and the journal all live here once, so both modes
behave identically. The admin routes are handed in by whoever builds the dispatcher.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._json import Encoded, dump_json
from ..audio import Wav
from ..blob import Blob
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
from ..schema import SchemaValidator
from .answers import AnswerCache
from .bodies import coerce_query, parse_json, validate
from .routes import Exchange, Route, RouteTable, Surface, upload_path, vendor_routes

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..engine.engine import Engine
    from ..engine.faults import Fault

__all__ = [
    "ADMIN_BODY_LIMIT",
    "ALL_SURFACES",
    "JOURNAL_BODY_LIMIT",
    "Dispatcher",
    "Match",
    "Request",
    "Response",
    "bearer",
    "unmatched_message",
]

logger = logging.getLogger("mh_mock")

ALL_SURFACES = frozenset(Surface)
ADMIN_BODY_LIMIT = 16 * 1024 * 1024
"""The largest admin call body (a seed document; the largest seed file read is as large)."""
JOURNAL_BODY_LIMIT = 8 * 1024
"""Bodies and answers up to this size are kept in the journal (as their JSON text); larger ones as a summary."""
_JSON = "application/json"


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
    body: bytes | Blob = b""
    """The body; for an upload the adapter may hand in the received file already summarised."""
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
    audio: Wav | None = None
    """Rendered audio to stream as the body (``content`` is empty then)."""


@dataclass(slots=True)
class Match:
    """What a method and path match: the route (None: none), its path parameters, the methods the path allows."""

    route: Route | None
    params: dict[str, str]
    allowed: list[str]


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


def _size(body: bytes | Blob) -> int:
    return body.size if isinstance(body, Blob) else len(body)


class Dispatcher:
    """Routes :class:`Request` objects to handlers over one engine and records them.

    ``admin`` are the admin routes (from :func:`mh_mock.control.admin.admin_routes`); ``admin_token``,
    if set, must come in the ``x-mh-mock-admin-token`` header of admin calls. ``extra_served``
    lists what the adapter serves besides the route table (``GET /openapi.json``).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        admin: Sequence[Route] = (),
        admin_token: str | None = None,
        extra_served: Sequence[str] = (),
    ) -> None:
        self.engine = engine
        self.answers = AnswerCache()
        self.routes: tuple[Route, ...] = (*vendor_routes(self.answers), *admin)
        self._admin_token = admin_token
        self._extra_served = tuple(extra_served)
        contract = load_contract()
        self._validators: dict[Route, tuple[SchemaValidator, Any]] = {}
        """Body checks per route: the contract's (shared), or the route's own, compiled when first used."""
        self._query_validators: dict[Route, SchemaValidator] = {}
        for route in self.routes:
            if route.operation_id is not None and route.operation_id in contract.requests:
                checks = (contract.requests[route.operation_id], contract.large_enums[route.operation_id])
                self._validators[route] = checks
        self.table = RouteTable(self.routes)

    # ------------------------------------------------------------------ entry points

    def handle(
        self, request: Request, surfaces: frozenset[Surface] = ALL_SURFACES, matched: Match | None = None
    ) -> Response:
        """Answer ``request``; only routes of ``surfaces`` are served (a host serves some). ``matched``:
        what :meth:`match` said of it, if the adapter asked already."""
        if matched is None:
            matched = self.match(request.method, request.path, surfaces)
        route = matched.route
        if route is None:
            return self._unrouted(request, matched.allowed, surfaces)
        if route.surface is Surface.ADMIN:
            return self._admin(request, route, matched.params)
        return self._api(request, route, matched.params)

    def match(self, method: str, path: str, surfaces: frozenset[Surface] = ALL_SURFACES) -> Match:
        """The route for ``method path`` (or None), its path parameters, and the methods the path allows."""
        methods, params = self.table.lookup(path)
        if methods is None:
            return Match(None, params, [])
        route = methods.get(method)
        if route is not None and route.surface in surfaces:
            return Match(route, params, [])
        served = sorted(m for m, r in methods.items() if r.surface in surfaces)
        return Match(None, params, served)

    def needs_early_look(self, matched: Match, declared_length: str | None) -> bool:
        """Whether a request may be refused before its body is read (then ask :meth:`refuse_early`)."""
        route = matched.route
        if route is None or route.surface is Surface.ADMIN:
            return False
        if route.raw_body:
            return True
        return (
            declared_length is not None and declared_length.isdigit() and int(declared_length) > self.body_limit(route)
        )

    def refuse_early(self, request: Request, matched: Match, declared_length: str | None) -> Response | None:
        """The answer to a request that can be refused before its body is read (the ASGI adapter
        asks): a declared body over the limit (413), or an upload to a URL that is not valid."""
        route, params = matched.route, matched.params
        if route is None or route.surface is Surface.ADMIN:
            return None
        limit = self.body_limit(route)
        if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
            return self._api(request, route, params, early=PayloadTooLarge(_too_large(int(declared_length), limit)))
        if route.raw_body:
            try:
                self.engine.api.check_upload(upload_path(params), request.query.get("auth-value"))
            except ApiError:
                return self._api(request, route, params)  # the same refusal, journaled, without the body
        return None

    def body_limit(self, route: Route | None) -> int:
        """The largest body ``route`` may be sent: uploads the upload limit, API calls the body limit; admin
        calls their own (a seed document may be sent, and no option set over the admin API locks it out)."""
        config = self.engine.config
        if route is not None and route.surface is Surface.ADMIN:
            return ADMIN_BODY_LIMIT
        return config.max_upload_bytes if route is not None and route.raw_body else config.max_body_bytes

    def served(self, surfaces: frozenset[Surface]) -> list[str]:
        """What a host with ``surfaces`` serves, as ``METHOD /path`` strings."""
        listed = [str(r) for r in self.routes if r.surface in surfaces]
        return [*listed, *self._extra_served] if Surface.API in surfaces else listed

    # ------------------------------------------------------------------ vendor and storage calls

    def _api(
        self, request: Request, route: Route, params: dict[str, str], *, early: ApiError | None = None
    ) -> Response:
        x = Exchange(self.engine, None, params, request.query)
        x.project_id = params.get(route.about) if route.about else None
        fault: Fault | None = None
        handled = False
        headers: dict[str, str] = {}
        try:
            if early is not None:
                raise early
            x.token = x.owner = bearer(request.authorization)
            if route.surface is Surface.STORAGE:  # no token: the call is about its owner's upload or project
                about = params.get("id")
                x.owner = self.engine.api.owner_of(about, None if about else upload_path(params))
            fault = self.engine.simulation.pick_fault(route.name, x.project_id, x.token or x.owner)
            answer = None if fault is None else fault.spec.answer
            if answer is not None:
                assert fault is not None
                status, payload, headers = answer(fault.values)
            elif fault is not None and not fault.spec.answers and not fault.after:
                status, payload = 0, None
            else:
                handled = True
                status, payload = self._run(request, route, x)
        except ApiError as error:
            status, payload = error.status, error.body()
        except ConfigError as error:
            status, payload = 400, {"code": "invalid_request", "message": str(error)}
        except Exception as error:  # a bug of ours; never blame the client with a crash
            status, payload = _bug(request, error)
        response = self._encode(request, status, payload)
        response.headers.update(headers)
        response.fault = fault
        self._record(request, route, x, response, payload, handled)
        return response

    def _run(self, request: Request, route: Route, x: Exchange) -> tuple[int, Any]:
        if route.surface is Surface.API:
            self.engine.state.check_token(x.token)  # 401 before anything about the body
        limit = self.body_limit(route)
        if _size(request.body) > limit:
            raise PayloadTooLarge(_too_large(_size(request.body), limit))
        if route.raw_body:
            body = request.body
            x.body = body if isinstance(body, Blob) else Blob.of(body)
        else:
            x.body = self._parse(request, route)
        return route.handler(x)

    def _parse(self, request: Request, route: Route) -> Any:
        checks = self._body_checks(route)
        if checks is None:
            return None  # a body on GET or DELETE is ignored, as the API does
        _check_json_type(request.headers.get("content-type"))
        raw = request.body
        assert isinstance(raw, bytes)
        if not raw.strip():
            raise InvalidRequest("Missing request body")
        document = parse_json(raw)
        validate(document, *checks)
        return document

    def _body_checks(self, route: Route) -> tuple[SchemaValidator, Any] | None:
        """How a body of ``route`` is validated (None: it takes no JSON body). A route's own schema is
        compiled on its first call: a fake per test must not pay for the admin routes it never calls."""
        checks = self._validators.get(route)
        if checks is None and route.body_schema is not None:
            checks = self._validators[route] = (SchemaValidator(route.body_schema), ())
        return checks

    def _query_checks(self, route: Route) -> SchemaValidator:
        validator = self._query_validators.get(route)
        if validator is None:
            properties = route.query_schema or {}
            validator = self._query_validators[route] = SchemaValidator({"type": "object", "properties": properties})
        return validator

    def _record(
        self, request: Request, route: Route | None, x: Exchange | None, response: Response, payload: Any, handled: bool
    ) -> None:
        fault = response.fault
        lost = fault is not None and not fault.spec.answers
        token = owner = project_id = None
        if x is not None:
            token, owner, project_id = x.token, x.owner, x.project_id
        state = self.engine.state
        self.engine.journal.add(
            state.now(owner),
            request.method,
            request.url,
            None if route is None else str(route.name),
            token,
            _journal_body(request.body, route, response.status, parsed=x is not None and x.body is not None),
            0 if lost else response.status,
            project_id,
            _journal_answer(payload, response),
            None if fault is None else fault.kind.value,
            handled,
            owner,
            None if owner is None else state.clock_key(owner) or None,
        )

    # ------------------------------------------------------------------ admin calls

    def _admin(self, request: Request, route: Route, params: dict[str, str]) -> Response:
        x = Exchange(self.engine, None, params, request.query)
        try:
            if self._admin_token is not None and request.headers.get("x-mh-mock-admin-token") != self._admin_token:
                raise Forbidden("The admin API needs the right x-mh-mock-admin-token header")
            if request.method not in ("GET", "HEAD"):
                _check_json_type(request.headers.get("content-type"), required=True)
            limit = self.body_limit(route)
            if _size(request.body) > limit:
                raise PayloadTooLarge(_too_large(_size(request.body), limit))
            x.query_args = coerce_query(request.query, route.query_schema or {})
            if route.query_schema:
                validate(x.query_args, self._query_checks(route))
            x.body = self._admin_body(request, route)
            status, payload = route.handler(x)
        except ApiError as error:
            status, payload = error.status, error.body()
        except ConfigError as error:
            status, payload = 400, {"code": "invalid_request", "message": str(error)}
        except Exception as error:
            status, payload = _bug(request, error)
        return self._encode(request, status, payload)

    def _admin_body(self, request: Request, route: Route) -> Any:
        checks = self._body_checks(route)
        if checks is None:
            return None
        raw = request.body
        assert isinstance(raw, bytes)
        document = parse_json(raw) if raw.strip() else {}
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
            if isinstance(payload, Wav):
                return Response(status, b"", {"content-type": "audio/wav"}, audio=payload)
            if isinstance(payload, Encoded):
                return Response(status, payload.encoded, {"content-type": _JSON})
            return Response(status, dump_json(payload), {"content-type": _JSON})
        except Exception as error:  # a bug of ours (an answer that cannot be serialised)
            logger.exception("mh-mock could not encode its answer to %s %s", request.method, request.url)
            body = {"code": "internal_server_error", "message": f"mh-mock bug: {type(error).__name__}"}
            return Response(500, dump_json(body), {"content-type": _JSON})


def _too_large(size: int, limit: int) -> str:
    return f"The request body is {size} bytes; the limit is {limit} bytes"


def _bug(request: Request, error: Exception) -> tuple[int, dict[str, str]]:
    logger.exception("mh-mock failed on %s %s", request.method, request.url)
    return 500, {"code": "internal_server_error", "message": f"mh-mock bug: {type(error).__name__}: {error}"}


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


def _journal_body(raw: bytes | Blob, route: Route | None, status: int, *, parsed: bool) -> Any:
    """A request body as the journal keeps it: valid JSON as its text up to :data:`JOURNAL_BODY_LIMIT`
    (parsed when read), an accepted upload as size and digest, anything else as its size and a prefix."""
    if isinstance(raw, Blob):
        return raw.summary() if 0 < status < 400 else {"bytes": raw.size}
    if not raw:
        return None
    if route is not None and route.raw_body:
        return Blob.of(raw).summary() if 0 < status < 400 else {"bytes": len(raw)}
    if parsed and len(raw) <= JOURNAL_BODY_LIMIT:
        return bytes(raw)
    return {"bytes": len(raw), "prefix": bytes(raw[:200]).decode("utf-8", "replace")}


def _journal_answer(payload: Any, response: Response) -> Any:
    if response.audio is not None:
        return response.audio.summary()
    if payload is None:
        return None
    if len(response.content) > JOURNAL_BODY_LIMIT:
        return {"bytes": len(response.content)}
    return response.content
