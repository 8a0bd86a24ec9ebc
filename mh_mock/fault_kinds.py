"""HTTP fault kinds, declared once: their fields and defaults, their HTTP answer, what a client sees.

A fault strikes a call before the engine handles it (or, for the kinds that allow ``after``,
just after). Each :class:`FaultSpec` says everything about its kind: the fields it takes with
their schemas and defaults, the answer it gives (a 429 or a 5xx), how long it delays, and
whether it then drops the connection, naming the exception an httpx (or httpx2) client raises
when it does. The engine's fault rules, the admin API's schema, the dispatcher and both
adapters look their kind up here; nothing else names a kind.

How a fault plays out, the same in both modes: the answer (if any) comes after ``delay``
seconds; a kind that ``drops`` closes the connection instead of answering. A client whose read
timeout runs out first gets its read timeout (``ReadTimeout``), as on a socket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .vocabulary import StrEnum

__all__ = ["FAULT_KINDS", "STALL_LIMIT", "FaultKind", "FaultSpec", "KindField"]

STALL_LIMIT = 600.0
"""The longest a fault holds a connection (a ``timeout`` fault without ``seconds`` stalls this long at most)."""


class FaultKind(StrEnum):
    """What an injected HTTP fault does (see :data:`FAULT_KINDS`)."""

    LATENCY = "latency"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    RESET = "reset"
    REFUSED = "refused"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class KindField:
    """A field only some kinds take: its JSON Schema, default and help."""

    schema: Mapping[str, Any]
    default: Any
    description: str


Answer = tuple[int, dict[str, str], dict[str, str]]
"""An HTTP answer: status, JSON body, headers."""


@dataclass(frozen=True)
class FaultSpec:
    """One fault kind."""

    kind: FaultKind
    summary: str
    fields: Mapping[str, KindField] = field(default_factory=dict)
    answer: Callable[[Mapping[str, Any]], Answer] | None = None
    """The HTTP answer given instead of the engine's (from the fault's field values), if any."""
    delay: str | None = None
    """The field holding the seconds to wait before answering or dropping (None: no wait; a field value
    of None: until the client gives up, at most :data:`STALL_LIMIT`)."""
    drops: tuple[str, str] | None = None
    """Drop the connection instead of answering: the httpx exception class a client raises, and its message."""
    refuses: bool = False
    """The drop happens before the request is sent (in-process: nothing was sent, so ``after`` cannot apply)."""

    @property
    def answers(self) -> bool:
        """True if a client gets an HTTP answer (an error status, or the engine's answer late)."""
        return self.drops is None

    @property
    def after_allowed(self) -> bool:
        """True if the fault may strike after the engine handled the call (``after=True``)."""
        return self.drops is not None and not self.refuses


def _rate_limited(values: Mapping[str, Any]) -> Answer:
    seconds = values["retry_after"]
    body = {"code": "rate_limited", "message": f"Too Many Requests: retry after {seconds} s"}
    return 429, body, {"retry-after": str(seconds)}


_SERVER_ERRORS = {
    500: ("internal_server_error", "Internal Server Error"),
    502: ("bad_gateway", "Bad Gateway"),
    503: ("service_unavailable", "Service Unavailable"),
}


def _server_error(values: Mapping[str, Any]) -> Answer:
    code, message = _SERVER_ERRORS[values["status"]]
    return values["status"], {"code": code, "message": message}, {}


_DELAY = {"type": "number", "minimum": 0, "maximum": STALL_LIMIT}

FAULT_KINDS: Mapping[FaultKind, FaultSpec] = MappingProxyType(
    {
        spec.kind: spec
        for spec in (
            FaultSpec(
                FaultKind.LATENCY,
                "answer normally, after a delay",
                {"seconds": KindField(_DELAY, 0.0, "the delay")},
                delay="seconds",
            ),
            FaultSpec(
                FaultKind.RATE_LIMIT,
                "answer 429 with Retry-After",
                {
                    "retry_after": KindField(
                        {"type": "integer", "minimum": 0, "maximum": 86_400}, 1, "Retry-After seconds"
                    )
                },
                answer=_rate_limited,
            ),
            FaultSpec(
                FaultKind.SERVER_ERROR,
                "answer 500, 502 or 503",
                {"status": KindField({"enum": sorted(_SERVER_ERRORS)}, 500, "the status")},
                answer=_server_error,
            ),
            FaultSpec(
                FaultKind.RESET,
                "drop the connection",
                drops=("ReadError", "[Errno 104] Connection reset by peer (mh-mock reset fault)"),
            ),
            FaultSpec(
                FaultKind.REFUSED,
                "refuse the connection",
                drops=("ConnectError", "[Errno 111] Connection refused (mh-mock refused fault)"),
                refuses=True,
            ),
            FaultSpec(
                FaultKind.TIMEOUT,
                "stall until the client gives up (or for seconds), then drop",
                {
                    "seconds": KindField(
                        {**_DELAY, "type": ["number", "null"]},
                        None,
                        "the stall (default: until the client's read timeout)",
                    )
                },
                delay="seconds",
                drops=("RemoteProtocolError", "Server disconnected without sending a response (mh-mock timeout fault)"),
            ),
        )
    }
)
"""Every fault kind."""
