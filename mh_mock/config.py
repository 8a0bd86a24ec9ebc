"""Everything about a fake that can be configured, in one frozen dataclass."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from .catalogue import job_error_message
from .clock import MAX_TIME
from .errors import ConfigError

__all__ = [
    "DEFAULTS",
    "STATUSES",
    "TERMINAL_STATUSES",
    "TIERS",
    "Config",
    "Endpoint",
    "Outcome",
    "Progression",
    "Timing",
    "to_jsonable",
]


class Progression(str, Enum):
    """What moves a project from one status to the next."""

    CLOCK = "clock"
    """The fake's clock: a status lasts its :class:`Timing` duration."""
    POLL = "poll"
    """Reads: every ``reads_per_step`` GETs of a project move it one status on."""


class Endpoint(str, Enum):
    """The three audio-creating endpoints (value = the project ``type`` prefix used in names)."""

    VOICE_GENERATOR = "voice_generator"
    VOICE_CLONER = "voice_cloner"
    MUSIC_GENERATOR = "music_generator"

    @property
    def project_type(self) -> str:
        """The ``type`` field of projects made by this endpoint."""
        return self.value.upper()

    @property
    def label(self) -> str:
        """Human name, used in default project names ("Voice Generator - …")."""
        return self.value.replace("_", " ").title()


@dataclass(frozen=True)
class Timing:
    """Seconds a project spends ``queued`` and then ``rendering`` (clock progression)."""

    queued: float = 1.0
    rendering: float = 3.0

    def __post_init__(self) -> None:
        if self.queued < 0 or self.rendering < 0:
            raise ConfigError(f"durations must be >= 0, got {self}")


TERMINAL_STATUSES = ("complete", "error", "canceled")
"""Statuses a project never leaves."""

STATUSES = ("queued", "rendering", *TERMINAL_STATUSES)
"""Every status a project of the fake can have (``draft`` is never used)."""

TIERS = ("free", "creator", "pro", "business")
"""Account tiers (contract: GET /v1/account ``tier``)."""


@dataclass(frozen=True)
class Outcome:
    """How a job ends: ``complete``, ``error`` (with a code and message) or ``canceled``."""

    status: str = "complete"
    code: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if any(v is not None and not isinstance(v, str) for v in (self.code, self.message)):
            raise ConfigError(f"an outcome's code and message are strings, got {self.code!r} and {self.message!r}")
        if self.status not in TERMINAL_STATUSES:
            raise ConfigError(f"an outcome is one of {TERMINAL_STATUSES}, got {self.status!r}")
        if self.status == "error":
            code = self.code or "unknown_error"
            object.__setattr__(self, "code", code)
            if self.message is None:
                object.__setattr__(self, "message", job_error_message(code))
        elif self.code is not None or self.message is not None:
            raise ConfigError(f"only an 'error' outcome has a code and message, not {self.status!r}")

    @classmethod
    def error(cls, code: str = "unknown_error", message: str | None = None) -> Outcome:
        """A job that fails with ``code`` (message from the catalogue unless given)."""
        return cls("error", code, message)

    @classmethod
    def parse(cls, value: str | Outcome | Mapping[str, Any]) -> Outcome:
        """``"complete"``, ``"canceled"``, ``"error"``, ``"error:<code>"`` or a mapping of the fields → Outcome."""
        if isinstance(value, Outcome):
            return value
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {"status", "code", "message"})
            if unknown:
                raise ConfigError(f"an outcome has status, code and message; not {', '.join(map(str, unknown))}")
            return cls(**value)
        if not isinstance(value, str):
            raise ConfigError(f"an outcome is 'complete', 'canceled', 'error' or 'error:<code>', got {value!r}")
        status, _, code = value.partition(":")
        return cls.error(code or "unknown_error") if status == "error" else cls(status)


COMPLETE = Outcome()

_DEFAULT_TIMINGS = MappingProxyType(
    {
        Endpoint.VOICE_GENERATOR: Timing(queued=1.0, rendering=3.0),
        Endpoint.VOICE_CLONER: Timing(queued=1.0, rendering=4.0),
        Endpoint.MUSIC_GENERATOR: Timing(queued=1.0, rendering=5.0),
    }
)


@dataclass(frozen=True)
class Config:
    """Options of one fake. Every field has a default that mirrors the real API.

    Build variants with :meth:`replace`, which rejects misspelt names with a TypeError that
    lists the valid ones.
    """

    starting_balance: int = 10_000
    """Credits of an account created on first use of a token."""
    seed: int | str | None = None
    """Makes ids, URL signatures and rendered audio reproducible."""
    progression: Progression = Progression.POLL
    """What moves projects on: ``poll`` (each read) or ``clock`` (time)."""
    reads_per_step: int = 1
    """In poll progression, GETs of a project needed per status step."""
    timings: Mapping[Endpoint, Timing] = field(default_factory=lambda: _DEFAULT_TIMINGS)
    """Clock progression: seconds queued and rendering, per endpoint."""
    frozen_clock: bool = True
    """The clock stands still until advanced (tests); False follows real time (standalone)."""
    start_time: float | None = None
    """Epoch seconds the clock starts at; None means the real time at creation."""
    account_tier: str = "creator"
    """``tier`` of accounts created on first use (free, creator, pro or business)."""
    account_email: str | None = None
    """``email`` of accounts created on first use."""
    preload: str | Mapping[str, Any] | None = None
    """A seed file (path, bundled name such as ``"examples"``, or document) applied on every reset."""
    strict_auth: bool = False
    """Only accept tokens registered with :meth:`Engine.add_account` (or ``accounts``)."""
    accounts: Mapping[str, int] = field(default_factory=dict)
    """Tokens registered up front, with their balances."""
    voice_credit_rate: Fraction = Fraction(1, 10)
    """Credits per character for the voice generator and cloner (spec: 0.1; tool pages: 0.05)."""
    voice_prompt_limit: int = 1000
    """Voice-generator prompts longer than this end the job in ``error`` / ``text_too_long``."""
    default_outcome: Outcome = COMPLETE
    """How jobs end unless their input decides otherwise."""
    failure_ratio: float = 0.0
    """Seeded random mode: this fraction of jobs fails with a code from the audio catalogue."""
    webhook_timestamps: str = "real"
    """``magic-hour-event-timestamp`` from the ``"real"`` wall clock (passes receivers' 5-minute
    tolerance after clock jumps) or the ``"fake"`` clock."""
    refund_on_cancel: bool = True
    """Whether a canceled job (or a deleted unfinished one) gives its credits back."""
    download_ttl: float = 24 * 3600
    """Lifetime in seconds of a download URL (the contract: 24 h)."""
    upload_ttl: float = 3600
    """Lifetime in seconds of an upload URL (silent in the contract)."""
    max_upload_bytes: int = 50 * 1024 * 1024
    """Largest body a PUT to an upload URL may carry (413 above it)."""
    max_body_bytes: int = 1024 * 1024
    """Largest JSON body an API call may carry (413 above it)."""
    speech_chars_per_second: float = 15.0
    """Length of rendered speech: characters of text per second of audio."""
    journal_limit: int | None = None
    """Keep only this many most recent calls in the journal (None: all; ``mh-mock serve``: 10,000)."""
    admin_token: str | None = None
    """If set, admin API calls need it in the ``x-mh-mock-admin-token`` header."""
    api_url: str = "https://api.magichour.ai"
    """Where the API is served (in-process: the intercepted base URL)."""
    storage_url: str = "https://videos.magichour.ai"
    """Where upload and download URLs point (in-process: the intercepted storage host)."""

    def __post_init__(self) -> None:
        def convert(name: str, function: Any) -> None:
            try:
                object.__setattr__(self, name, function(getattr(self, name)))
            except ConfigError:
                raise
            except (TypeError, ValueError, AttributeError, ArithmeticError) as error:
                raise ConfigError(f"bad value for {name}: {getattr(self, name)!r} ({error})") from None

        convert("progression", Progression)
        convert("default_outcome", Outcome.parse)
        convert("voice_credit_rate", lambda rate: Fraction(str(rate)))
        convert(
            "timings",
            lambda t: MappingProxyType({**_DEFAULT_TIMINGS, **{Endpoint(k): _as_timing(v) for k, v in t.items()}}),
        )
        convert("accounts", lambda a: MappingProxyType({str(k): int(v) for k, v in a.items()}))
        convert("api_url", lambda url: url.rstrip("/"))
        convert("storage_url", lambda url: url.rstrip("/"))
        if self.seed is not None and (not isinstance(self.seed, (int, str)) or isinstance(self.seed, bool)):
            raise ConfigError(f"seed must be an integer or a string, got {self.seed!r}")
        if self.start_time is not None and not (
            isinstance(self.start_time, (int, float)) and 0 <= self.start_time <= MAX_TIME
        ):
            raise ConfigError(f"start_time must be epoch seconds between 0 and {MAX_TIME:.0f}, got {self.start_time!r}")
        for name, least in _INTEGER_OPTIONS.items():
            value = getattr(self, name)
            if value is None and name == "journal_limit":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ConfigError(f"{name} must be an integer >= {least}, got {value!r}")
        for name, positive in _NUMBER_OPTIONS.items():
            value = getattr(self, name)
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not (value > 0 if positive else value >= 0)
            ):
                raise ConfigError(f"{name} must be a number {'>' if positive else '>='} 0, got {value!r}")
        if not 0 <= self.failure_ratio <= 1:
            raise ConfigError(f"failure_ratio must be between 0 and 1, got {self.failure_ratio!r}")
        for name in ("frozen_clock", "strict_auth", "refund_on_cancel"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.account_tier not in TIERS:
            raise ConfigError(f"account_tier must be one of {', '.join(TIERS)}, got {self.account_tier!r}")
        if self.webhook_timestamps not in ("real", "fake"):
            raise ConfigError(f"webhook_timestamps must be 'real' or 'fake', got {self.webhook_timestamps!r}")
        if self.voice_credit_rate < 0:
            raise ConfigError(f"voice_credit_rate must be >= 0, got {self.voice_credit_rate}")

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """Every valid option name."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes``; an unknown name is a TypeError listing the valid ones."""
        unknown = sorted(set(changes) - set(self.option_names()))
        if unknown:
            raise UnknownOption(
                f"unknown mh-mock option(s) {', '.join(unknown)}; valid options are: {', '.join(self.option_names())}"
            )
        return dataclasses.replace(self, **changes)


class UnknownOption(TypeError, ConfigError):
    """A misspelt option: a TypeError (like a bad keyword argument) and a ConfigError (a 400)."""


def to_jsonable(value: Any) -> Any:
    """Config option values as JSON (for the admin API): the inverse of what Config accepts."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, Timing):
        return [value.queued, value.rendering]
    if isinstance(value, Outcome):
        return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}
    if isinstance(value, Mapping):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def _as_timing(value: Timing | tuple[float, float] | Mapping[str, float]) -> Timing:
    if isinstance(value, Timing):
        return value
    if isinstance(value, Mapping):
        return Timing(**value)
    queued, rendering = value
    return Timing(float(queued), float(rendering))


_INTEGER_OPTIONS = MappingProxyType(
    {
        "starting_balance": 0,
        "reads_per_step": 1,
        "voice_prompt_limit": 0,
        "max_upload_bytes": 0,
        "max_body_bytes": 0,
        "journal_limit": 1,
    }
)
_NUMBER_OPTIONS = MappingProxyType(
    {"download_ttl": True, "upload_ttl": True, "speech_chars_per_second": True, "failure_ratio": False}
)

DEFAULTS = Config()
"""Every option at its default (frozen)."""
