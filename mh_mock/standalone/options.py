"""What the owner of ``mh-mock serve`` sets, declared once: :class:`ServeOptions`.

Each field is an option (:func:`~mh_mock.optionspec.option`) with its default, schema, help and
flag; ``mh-mock serve``'s flags for them are generated from these declarations, beside the flags
of the engine's own options (:class:`~mh_mock.config.Config`). None of these can be changed over
HTTP: they belong to whoever started the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..optionspec import option
from .limits import DEFAULT_BODY_TIMEOUT, DEFAULT_HEAD_TIMEOUT

__all__ = ["ServeOptions"]

_SECONDS = {"type": "number", "exclusiveMinimum": 0, "maximum": 3600}


@dataclass(frozen=True)
class ServeOptions:
    """How ``mh-mock serve`` runs: where it listens, what it answers, its state file, its limits."""

    host: str = option(
        "127.0.0.1",
        schema={"type": "string"},
        help="Interface to bind; beyond loopback `--public-url` is required and a warning is printed.",
    )
    port: int = option(8000, schema={"type": "integer", "minimum": 0, "maximum": 65535}, help="Port to listen on.")
    public_url: str | None = option(
        None,
        schema={"type": ["string", "null"]},
        help="The address clients use: upload and download URLs point there, and its host is answered.",
        metavar="URL",
        shown_default="`http://HOST:PORT`",
    )
    allow_host: tuple[str, ...] = option(
        (),
        schema={"type": "array", "items": {"type": "string"}},
        help="Also answer requests for this `Host` (repeatable; `*` for any, e.g. in a container).",
        metavar="HOST",
        shown_default="none",
    )
    seeds_dir: Path | None = option(
        None,
        schema={"type": ["string", "null"]},
        help="Where a reset over the admin API may read seed files from (bundled seeds are always allowed).",
        metavar="DIR",
    )
    state: Path | None = option(
        None,
        schema={"type": ["string", "null"]},
        help="Keep all state in this SQLite file (created 0600) and resume from it on restart.",
        metavar="PATH",
        shown_default="in memory",
    )
    state_timeout: float = option(
        5.0,
        schema=_SECONDS,
        help="How long a change waits for the state file's lock before it is refused with 503.",
        metavar="SECONDS",
    )
    admin_token: str | None = option(
        None,
        schema={"type": ["string", "null"], "minLength": 1},
        help="Require it in `x-mh-mock-admin-token` on admin calls and in the dashboard.",
        metavar="TOKEN",
        env="MH_MOCK_ADMIN_TOKEN",
        secret=True,
    )
    log_level: str = option(
        "info", schema={"enum": ["critical", "error", "warning", "info", "debug"]}, help="uvicorn's log level."
    )
    access_log: bool = option(False, schema={"type": "boolean"}, help="Log every request (it costs throughput).")
    http: str = option(
        "auto", schema={"enum": ["auto", "h11", "httptools"]}, help="HTTP parser (`auto`: httptools when installed)."
    )
    loop: str = option(
        "auto", schema={"enum": ["auto", "asyncio", "uvloop"]}, help="Event loop (`auto`: uvloop when installed)."
    )
    head_timeout: float = option(
        DEFAULT_HEAD_TIMEOUT,
        schema=_SECONDS,
        help="Drop a connection whose request head is not complete in time.",
        metavar="SECONDS",
    )
    body_timeout: float = option(
        DEFAULT_BODY_TIMEOUT,
        schema=_SECONDS,
        help="Drop a connection whose request body receives nothing for this long.",
        metavar="SECONDS",
    )
    max_connections: int | None = option(
        None,
        schema={"type": ["integer", "null"], "minimum": 1},
        help="Open connections at most; the connection stalled longest makes room for a new one.",
        metavar="N",
        shown_default="from the descriptor limit",
    )
    freeze_gc_every: int | None = option(
        5_000,
        schema={"type": ["integer", "null"], "minimum": 1},
        help="Move what is alive out of the garbage collector's way every so many requests.",
        flag=None,
    )

    @property
    def url(self) -> str:
        """The public URL: ``public_url``, or ``http://host:port``."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
