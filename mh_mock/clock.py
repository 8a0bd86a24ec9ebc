"""The fake's clock: frozen and moved by hand (tests), or running with real time (standalone)."""

from __future__ import annotations

import functools
import threading
import time
from datetime import datetime

from .errors import ConfigError

MAX_TIME = 253_402_300_799.0
"""9999-12-31T23:59:59Z, the last moment a timestamp can show."""

__all__ = ["Clock", "format_timestamp", "parse_timestamp"]


class Clock:
    """Seconds since the Unix epoch, as the fake sees them.

    A *frozen* clock stands still until :meth:`advance` or :meth:`set` moves it, so tests are
    deterministic. A running clock follows real time plus whatever offset :meth:`advance` added,
    which is what a developer watching the standalone server wants.
    """

    def __init__(self, start: float | None = None, *, frozen: bool = True) -> None:
        self._lock = threading.Lock()
        self._frozen = frozen
        self._base = time.time() if start is None else float(start)
        self._started = time.monotonic()

    @property
    def frozen(self) -> bool:
        """True while the clock only moves when told to."""
        return self._frozen

    def now(self) -> float:
        """The current fake time."""
        if self._frozen:
            return self._base
        return self._base + (time.monotonic() - self._started)

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (never backwards) and return the new time."""
        if not seconds >= 0:  # also refuses NaN
            raise ConfigError(f"the clock only moves forward; got advance({seconds})")
        with self._lock:
            if self.now() + seconds > MAX_TIME:
                raise ConfigError(f"advance({seconds}) would take the clock past {format_timestamp(MAX_TIME)}")
            self._base += seconds
            return self.now()

    def set(self, when: float) -> None:
        """Jump to ``when`` (epoch seconds); it must not be earlier than now."""
        with self._lock:
            current = self.now()
            if when > MAX_TIME:
                raise ConfigError(f"the clock cannot go past {format_timestamp(MAX_TIME)}")
            if not current <= when:
                raise ConfigError(
                    f"the clock only moves forward; {format_timestamp(when)} is before {format_timestamp(current)}"
                )
            self._base += when - current

    def snapshot(self) -> dict[str, float | bool]:
        """What :meth:`restore` needs to continue this clock in another process: where a frozen
        clock stands, or a running clock's offset from real time (constant until advanced)."""
        if self._frozen:
            return {"frozen": True, "now": self._base}
        return {"frozen": False, "offset": round(self.now() - time.time(), 3)}

    def restore(self, snapshot: dict[str, float | bool]) -> None:
        """Continue from a :meth:`snapshot`: a frozen clock where it stood, a running one as if
        it had kept running meanwhile."""
        with self._lock:
            self._frozen = bool(snapshot["frozen"])
            start = float(snapshot["now"]) if self._frozen else time.time() + float(snapshot["offset"])
            self._base, self._started = start, time.monotonic()

    def __repr__(self) -> str:
        mode = "frozen" if self._frozen else "running"
        return f"<Clock {mode} at {format_timestamp(self.now())}>"


def format_timestamp(when: float) -> str:
    """ISO-8601 UTC with milliseconds, as the API writes them: ``2024-10-19T05:10:19.027Z``."""
    seconds, millis = divmod(round(when * 1000), 1000)
    return f"{_second(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)  # timestamps come in bursts of the same second (a project's, a run's)
def _second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def parse_timestamp(text: str) -> float:
    """Inverse of :func:`format_timestamp` (accepts any ISO-8601 form with a zone or ``Z``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
