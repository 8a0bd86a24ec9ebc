"""The dispatcher: one framework-free request handler that both adapters call.

An adapter turns its native request into a :class:`Request`, calls :meth:`Dispatcher.handle`,
and turns the :class:`Response` back. Routing, auth, body parsing, schema validation, error
bodies and the journal all live here once, so both modes behave identically.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match

from ._json import dump_json
from .contract import load_contract
from .engine import Engine
from .errors import ApiError, ConfigError, Forbidden, InvalidRequest, MethodNotAllowed, NotFound, PayloadTooLarge
from .faults import Fault
from .routes import API_ROUTES, STORAGE_ROUTES, Exchange, Route, Surface

__all__ = ["ALL_SURFACES", "Dispatcher", "Request", "Response", "unmatched_message"]

logger = logging.getLogger("mh_mock")

ALL_SURFACES = frozenset(Surface)
_JSON = "application/json"


@dataclass(slots=True)
class Request:
    """A request as the dispatcher sees it; ``path`` is relative to the fake's base URL."""

    method: str
    url: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Case-insensitive on lookup (httpx and Starlette headers both are)."""
    body: bytes = b""


@dataclass(slots=True)
class Response:
    """What to answer: status, body bytes and headers (content-type included)."""

    status: int
    """0 when a fault drops the connection instead of answering."""
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    fault: Fault | None = None
    """A fault the adapter must act out: delay (``latency``), drop, refuse or stall the connection."""


def unmatched_message(method: str, url: str, routes: Iterable[Route]) -> str:
    """The 404 message for a request no route matches: what was sent, and what is served."""
    served = ", ".join(str(route) for route in routes)
    return f"No mh-mock route matches {method} {url}. This host serves: {served}"


class Dispatcher:
    """Routes :class:`Request` objects to handlers over one :class:`Engine` and records them."""

    def __init__(self, engine: Engine, routes: Iterable[Route] | None = None) -> None:
        from .admin import ADMIN_ROUTES  # admin handlers use the engine's control API

        self.engine = engine
        self.routes: tuple[Route, ...] = (
            tuple(routes) if routes is not None else (*API_ROUTES, *STORAGE_ROUTES, *ADMIN_ROUTES)
        )
        self._contract = load_contract()
        self._static: dict[str, dict[str, Route]] = {}
        self._dynamic: list[tuple[tuple[str, ...], dict[str, Route]]] = []
        for route in self.routes:
            if "{" in route.path:
                for segments, methods in self._dynamic:
                    if segments == route.segments:
                        methods[route.method] = route
                        break
                else:
                    self._dynamic.append((route.segments, {route.method: route}))
            else:
                self._static.setdefault(route.path, {})[route.method] = route

    def handle(self, request: Request, surfaces: frozenset[Surface] = ALL_SURFACES) -> Response:
        """Answer ``request``; only routes of ``surfaces`` are served (a host serves some)."""
        methods, params = self._match(request.path)
        route = None if methods is None else methods.get(request.method)
        if route is not None and route.surface not in surfaces:
            route = None
        exchange: Exchange | None = None
        fault: Fault | None = None
        if route is not None:
            exchange = Exchange(
                self.engine,
                _bearer(request.headers.get("authorization")),
                params,
                request.query,
                None,
                params.get("id"),
            )
            if route.surface is not Surface.ADMIN:
                fault = self.engine.pick_fault(route.name, params.get("id"), exchange.token)
        allowed = sorted(m for m, r in (methods or {}).items() if r.surface in surfaces)
        status, payload, headers = self._answer(request, route, exchange, fault, allowed, surfaces)
        response = self._encode(request, status, payload)
        response.headers.update(headers)
        response.fault = fault
        if route is None or route.surface is not Surface.ADMIN:
            self.engine.journal.record(
                at=self.engine.now(),
                method=request.method,
                url=request.url,
                route=None if route is None else route.name,
                token=None if exchange is None else exchange.token,
                body=None if exchange is None else exchange.body,
                status=status,
                project_id=None if exchange is None else exchange.project_id,
                response=payload if not isinstance(payload, bytes) else None,
                fault=None if fault is None else fault.kind,
            )
        return self._after(request, response)

    def _answer(
        self, request: Request, route: Route | None, exchange: Exchange | None, fault: Fault | None,
        allowed: list[str], surfaces: frozenset[Surface],
    ) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
        """Status, payload and extra headers; every error becomes its contract-shaped body."""
        try:
            if route is None or exchange is None:
                if allowed:
                    error = MethodNotAllowed(
                        f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}"
                    )
                    return error.status, error.body(), {"allow": ", ".join(allowed)}
                raise NotFound(unmatched_message(request.method, request.url, self.served(surfaces)))
            if fault is not None and fault.kind in ("rate_limit", "server_error"):
                return fault.error_body()
            if fault is not None and fault.kind in ("reset", "refused", "timeout") and not fault.after:
                return 0, None, {}  # the engine never sees the call
            if route.surface is Surface.API:
                self.engine.account(exchange.token)  # 401 comes before anything about the body
            elif route.surface is Surface.ADMIN:
                self._check_admin(request)
            exchange.body = request.body if route.raw_body else self._parse(request, route)
            status, payload = route.handler(exchange)
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

    def _encode(self, request: Request, status: int, payload: Any) -> Response:
        try:
            return _encode(status, payload)
        except Exception as error:  # a bug of ours (an answer that cannot be serialised)
            logger.exception("mh-mock could not encode its answer to %s %s", request.method, request.url)
            return _encode(500, {"code": "internal_server_error", "message": f"mh-mock bug: {type(error).__name__}"})

    def _after(self, request: Request, response: Response) -> Response:
        """Send due webhooks (in-process) and save: an answer that could not be saved is a 500."""
        try:
            if self.engine.deliver_inline:
                self.engine.after_call()
        except Exception:  # a receiver's failure is the delivery's, not the call's
            logger.exception("mh-mock failed delivering webhooks after %s %s", request.method, request.url)
        try:
            self.engine.commit()  # before the answer leaves: what a client is told survives a crash
        except Exception as error:
            logger.exception("mh-mock could not save its state after %s %s", request.method, request.url)
            return _encode(
                500, {"code": "internal_server_error", "message": f"mh-mock could not save its state: {error}"}
            )
        return response

    def served(self, surfaces: frozenset[Surface]) -> list[Route]:
        """The routes a host with ``surfaces`` serves (admin routes excluded from listings)."""
        return [r for r in self.routes if r.surface in surfaces and r.surface is not Surface.ADMIN]

    # ------------------------------------------------------------------ internals

    def _match(self, path: str) -> tuple[dict[str, Route] | None, dict[str, str]]:
        methods = self._static.get(path)
        if methods is not None:
            return methods, {}
        if not path.startswith("/"):
            return None, {}
        segments = path[1:].split("/")  # exact: an extra or trailing slash is another path
        for template, candidates in self._dynamic:
            if len(template) != len(segments):
                continue
            params = {}
            for pattern, actual in zip(template, segments, strict=True):
                if pattern[0] == "{":
                    if not actual:
                        break
                    params[pattern[1:-1]] = actual
                elif pattern != actual:
                    break
            else:
                return candidates, params
        return None, {}

    def _check_admin(self, request: Request) -> None:
        expected = self.engine.config.admin_token
        if expected is not None and request.headers.get("x-mh-mock-admin-token") != expected:
            raise Forbidden("The admin API needs the right x-mh-mock-admin-token header")

    def _parse(self, request: Request, route: Route) -> Any:
        validator = self._contract.requests.get(route.operation_id or "")
        if validator is None and (route.surface is not Surface.ADMIN or not request.body):
            return None  # a body on GET or DELETE is ignored, as the API does
        limit = self.engine.config.max_body_bytes
        if len(request.body) > limit:
            raise PayloadTooLarge(f"The request body is {len(request.body)} bytes; the limit is {limit} bytes")
        content_type = request.headers.get("content-type")
        if content_type is not None:
            media = content_type.split(";", 1)[0].strip().lower()
            if media != _JSON and not media.endswith("+json"):
                raise InvalidRequest(f"Content-Type must be application/json, got {content_type!r}")
        if not request.body.strip():
            raise InvalidRequest("Missing request body")
        document = parse_json(request.body)
        if validator is not None:
            error = best_match(validator.iter_errors(document))
            if error is not None:
                raise InvalidRequest(describe(error))
            for path, allowed in self._contract.large_enums[route.operation_id or ""]:
                _check_enum(document, path, allowed)
        elif not isinstance(document, dict):
            raise InvalidRequest("The request body must be a JSON object")
        return document


def _check_enum(document: Any, path: tuple[str, ...], allowed: frozenset[str]) -> None:
    """The large-enum check the compiled schema leaves out (the value is a string by then)."""
    value = document
    for name in path:
        if not isinstance(value, dict) or name not in value:
            return
        value = value[name]
    if value not in allowed:
        where = ".".join(path)
        raise InvalidRequest(f"Invalid value for {where}: {value!r} is not one of the {len(allowed)} allowed values")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON (no NaN/Infinity), with a 400 that says what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"The request body is not valid UTF-8 (byte {error.start})") from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            f"The request body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:
        raise InvalidRequest("The request body is nested too deeply") from None
    except ValueError as error:  # NaN/Infinity, or an integer too long to convert
        raise InvalidRequest(f"The request body is not valid JSON: {error}") from None
    if "\\u" in text:  # only escapes can smuggle in an unpaired UTF-16 surrogate
        _refuse_surrogates(document, "")
    return document


def _refuse_surrogates(value: Any, where: str) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest(
                f"Invalid value for {where or 'request body'}: it contains an unpaired UTF-16 surrogate"
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_surrogates(key, where)
            _refuse_surrogates(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_surrogates(item, f"{where}[{index}]")


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


_TYPE_NAMES = MappingProxyType(
    {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}
)


def _field(error: ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def describe(error: ValidationError) -> str:
    """One sentence naming the field and what is wrong with it."""
    where = _field(error)
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [name for name in expected if isinstance(value, dict) and name not in value]
        full = f"{where}.{missing[0]}" if where else missing[0]
        return f"Missing required field: {full}"
    subject = where or "request body"
    if kind == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        return (
            f"Invalid type for {subject}: expected {wanted}, got {_TYPE_NAMES.get(type(value), type(value).__name__)}"
        )
    if kind == "enum":
        if len(expected) <= 12:
            return f"Invalid value for {subject}: {value!r} is not one of {', '.join(map(repr, expected))}"
        return f"Invalid value for {subject}: {value!r} is not one of the {len(expected)} allowed values"
    if kind == "minLength":
        return (
            f"{subject} must not be empty"
            if expected == 1
            else f"{subject} must be at least {expected} characters long"
        )
    if kind == "maxLength":
        return f"{subject} must be at most {expected} characters long (got {len(value)})"
    if kind in ("minimum", "maximum"):
        bound = "at least" if kind == "minimum" else "at most"
        return f"{subject} must be {bound} {expected} (got {value})"
    if kind == "minItems":
        return f"{subject} must contain at least {expected} item{'s' if expected != 1 else ''}"
    if kind == "pattern":
        shown = expected[:-2] + "$" if expected.endswith("\\Z") else expected  # as the contract writes it
        return f"Invalid value for {subject}: {value!r} does not match {shown}"
    return f"Invalid value for {subject}: {error.message}"


def _encode(status: int, payload: Any) -> Response:
    if payload is None:
        return Response(status)
    if isinstance(payload, bytes):
        return Response(status, payload, {"content-type": "audio/wav"})
    return Response(status, dump_json(payload), {"content-type": _JSON})
