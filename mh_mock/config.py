"""Everything about a fake that can be configured, in one frozen dataclass.

Each option is declared once, with its JSON Schema in :data:`OPTION_SCHEMAS`: the same schema
checks options given in Python, in seed files and over the admin API, so every bad value gets
the same message naming the field.

A :class:`Config` remembers which options were given explicitly (:attr:`Config.explicit`), so an
explicit value beats a seed file's even when it equals the default. The layers, lowest first:
defaults < a profile (``mh-mock serve``'s real-time clock) < a seed file's ``config`` < options
given by the caller.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .catalogue import JOB_ERRORS, job_error_message
from .clock import MAX_TIME
from .errors import ConfigError
from .vocabulary import TERMINAL_STATUSES, Endpoint, Progression, Status, Tier

if TYPE_CHECKING:
    from .schema import SchemaValidator

__all__ = [
    "HTTP_FIXED_OPTIONS",
    "OPTION_SCHEMAS",
    "Config",
    "Endpoint",
    "Outcome",
    "Progression",
    "Timing",
    "UnknownOption",
    "to_jsonable",
]


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds a project spends ``queued`` and then ``rendering`` (clock progression)."""

    queued: float = 1.0
    rendering: float = 3.0

    def __post_init__(self) -> None:
        if not (self.queued >= 0 and self.rendering >= 0):
            raise ConfigError(f"durations must be >= 0, got {self}")

    @classmethod
    def parse(cls, value: Timing | Any) -> Timing:
        """A Timing, a ``(queued, rendering)`` pair or a ``{"queued", "rendering"}`` mapping."""
        if isinstance(value, Timing):
            return value
        if isinstance(value, Mapping):
            return cls(float(value.get("queued", 1.0)), float(value.get("rendering", 3.0)))
        queued, rendering = value
        return cls(float(queued), float(rendering))


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a job ends: ``complete``, ``error`` (with a code and message) or ``canceled``.

    An error code outside the catalogue (:data:`mh_mock.catalogue.JOB_ERRORS`) needs a message:
    the set of codes is open, but a typo should not pass silently.
    """

    status: str = "complete"
    code: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if any(v is not None and not isinstance(v, str) for v in (self.code, self.message)):
            raise ConfigError(f"an outcome's code and message are strings, got {self.code!r} and {self.message!r}")
        if self.status not in TERMINAL_STATUSES:
            raise ConfigError(f"an outcome is one of complete, error, canceled; got {self.status!r}")
        object.__setattr__(self, "status", Status(self.status))
        if self.status == Status.ERROR:
            code = self.code or "unknown_error"
            if self.message is None and code not in JOB_ERRORS:
                raise ConfigError(
                    f"unknown job error code {code!r}; known codes are: {', '.join(JOB_ERRORS)} "
                    "(another code needs a message too)"
                )
            object.__setattr__(self, "code", code)
            if self.message is None:
                object.__setattr__(self, "message", job_error_message(code))
        elif self.code is not None or self.message is not None:
            raise ConfigError(f"only an 'error' outcome has a code and message, not {str(self.status)!r}")

    @classmethod
    def error(cls, code: str = "unknown_error", message: str | None = None) -> Outcome:
        """A job that fails with ``code`` (message from the catalogue unless given)."""
        return cls("error", code, message)

    @classmethod
    def parse(cls, value: str | Outcome | Mapping[str, Any]) -> Outcome:
        """``"complete"``, ``"canceled"``, ``"error"``, ``"error:<code>"`` or a mapping of the fields."""
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

    def to_json(self) -> str | dict[str, str]:
        """The shortest JSON :meth:`parse` reads back."""
        if self.status != Status.ERROR:
            return str(self.status)
        if self.message == job_error_message(self.code or ""):
            return f"error:{self.code}"
        return {"status": "error", "code": self.code or "", "message": self.message or ""}


COMPLETE = Outcome()

_DEFAULT_TIMINGS = MappingProxyType(
    {
        Endpoint.VOICE_GENERATOR: Timing(queued=1.0, rendering=3.0),
        Endpoint.VOICE_CLONER: Timing(queued=1.0, rendering=4.0),
        Endpoint.MUSIC_GENERATOR: Timing(queued=1.0, rendering=5.0),
    }
)

_CREDITS = {"type": "integer", "minimum": 0, "maximum": 2**53 - 1}
_SECONDS = {"type": "number", "minimum": 0, "maximum": 86_400}
_TIMING = {
    "oneOf": [
        {"type": "array", "items": _SECONDS, "minItems": 2, "maxItems": 2},
        {"type": "object", "additionalProperties": False, "properties": {"queued": _SECONDS, "rendering": _SECONDS}},
    ]
}
_OUTCOME = {
    "oneOf": [
        {"type": "string", "pattern": "^(complete|canceled|error(:[A-Za-z0-9_.-]{1,64})?)$"},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["status"],
            "properties": {
                "status": {"enum": ["complete", "error", "canceled"]},
                "code": {"type": "string", "minLength": 1, "maxLength": 64},
                "message": {"type": "string", "maxLength": 1000},
            },
        },
    ]
}
_URL = {"type": "string", "pattern": "^https?://[^/?#\\s]+(/[^?#\\s]*)?$", "maxLength": 2000}

OPTION_SCHEMAS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "starting_balance": _CREDITS,
        "seed": {"type": ["integer", "string", "null"], "maxLength": 256, "minimum": -(2**63), "maximum": 2**63},
        "progression": {"enum": Progression.values()},
        "reads_per_step": {"type": "integer", "minimum": 1, "maximum": 1000},
        "timings": {
            "type": "object",
            "propertyNames": {"enum": Endpoint.values()},
            "additionalProperties": _TIMING,
        },
        "frozen_clock": {"type": "boolean"},
        "start_time": {"type": ["number", "null"], "minimum": 0, "maximum": MAX_TIME},
        "account_tier": {"enum": Tier.values()},
        "account_email": {"type": ["string", "null"], "maxLength": 320},
        "preload": {"type": ["string", "object", "null"], "minLength": 1, "maxLength": 4096},
        "strict_auth": {"type": "boolean"},
        "accounts": {
            "type": "object",
            "propertyNames": {"minLength": 1, "maxLength": 256},
            "additionalProperties": _CREDITS,
        },
        "voice_credit_rate": {
            "oneOf": [
                {"type": "number", "minimum": 0, "maximum": 1000},
                {"type": "string", "pattern": "^[0-9]{1,6}(\\.[0-9]{1,9})?(/[1-9][0-9]{0,8})?$"},
            ]
        },
        "voice_prompt_limit": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
        "default_outcome": _OUTCOME,
        "failure_ratio": {"type": "number", "minimum": 0, "maximum": 1},
        "webhook_timestamps": {"enum": ["real", "fake"]},
        "webhook_timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
        "delivery_log_limit": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
        "refund_on_cancel": {"type": "boolean"},
        "download_ttl": {"type": "number", "exclusiveMinimum": 0, "maximum": 315_360_000},
        "upload_ttl": {"type": "number", "exclusiveMinimum": 0, "maximum": 315_360_000},
        "max_upload_bytes": {"type": "integer", "minimum": 0, "maximum": 1 << 30},
        "max_body_bytes": {"type": "integer", "minimum": 0, "maximum": 64 << 20},
        "speech_chars_per_second": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
        "journal_limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 1_000_000},
        "signing_secret": {"type": ["string", "null"], "minLength": 16, "maxLength": 256},
        "api_url": _URL,
        "storage_url": _URL,
    }
)
"""The JSON Schema of every option (as :func:`to_jsonable` writes its value)."""

HTTP_FIXED_OPTIONS = frozenset({"api_url", "storage_url", "signing_secret"})
"""Options set when a fake is created, never changed by a reset (its hosts and URL secret)."""


@dataclass(frozen=True)
class Config:
    """Options of one fake. Every field has a default that mirrors the real API.

    Build variants with :meth:`replace`, which rejects misspelt names with a TypeError that
    lists the valid ones.
    """

    starting_balance: int = 10_000
    """Credits of an account created on first use of a token."""
    seed: int | str | None = None
    """Makes ids and rendered audio reproducible."""
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
    account_tier: Tier = Tier.CREATOR
    """``tier`` of accounts created on first use (free, creator, pro or business)."""
    account_email: str | None = None
    """``email`` of accounts created on first use."""
    preload: str | Mapping[str, Any] | None = None
    """A seed (bundled name such as ``"examples"``, file path, or document) applied on every reset."""
    strict_auth: bool = False
    """Only accept tokens registered up front (``accounts``, ``add_account``)."""
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
    """``magic-hour-event-timestamp`` from the ``"real"`` wall clock or the ``"fake"`` clock."""
    webhook_timeout: float = 10.0
    """Seconds one webhook attempt may take before it counts as failed (and is retried)."""
    delivery_log_limit: int = 10_000
    """Finished webhook deliveries kept in the log (pending ones are always kept)."""
    refund_on_cancel: bool = True
    """Whether a canceled job (or a deleted unfinished one) gives its credits back."""
    download_ttl: float = 24 * 3600
    """Lifetime in seconds of a download URL (the contract: 24 h)."""
    upload_ttl: float = 3600
    """Lifetime in seconds of an upload URL (silent in the contract)."""
    max_upload_bytes: int = 50 * 1024 * 1024
    """Largest body a PUT to an upload URL may carry (413 above it)."""
    max_body_bytes: int = 1024 * 1024
    """Largest JSON body an API or admin call may carry (413 above it)."""
    speech_chars_per_second: float = 15.0
    """Length of rendered speech: characters of text per second of audio."""
    journal_limit: int | None = 10_000
    """Keep only this many most recent calls in the journal (None: all)."""
    signing_secret: str | None = None
    """Key of download and upload URL signatures; None draws a random one per fake (never from ``seed``)."""
    api_url: str = "https://api.magichour.ai"
    """Where the API is served (in-process: the intercepted base URL)."""
    storage_url: str = "https://videos.magichour.ai"
    """Where upload and download URLs point (in-process: the intercepted storage host)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Config:
        self = object.__new__(cls)
        given = {f.name for f in dataclasses.fields(cls)[: len(args)]} | set(kwargs)
        object.__setattr__(self, "_explicit", frozenset(given))
        return self

    def __post_init__(self) -> None:
        for name, schema_check in _validators().items():
            problem = schema_check.error(to_jsonable(getattr(self, name)))
            if problem is not None:
                raise ConfigError(f"bad value for {name}: {problem.replace('request body', name, 1)}")
        converted = {
            "progression": Progression(self.progression),
            "account_tier": Tier(self.account_tier),
            "default_outcome": Outcome.parse(self.default_outcome),
            "voice_credit_rate": Fraction(str(self.voice_credit_rate)),
            "timings": MappingProxyType(
                {**_DEFAULT_TIMINGS, **{Endpoint(k): Timing.parse(v) for k, v in self.timings.items()}}
            ),
            "accounts": MappingProxyType(dict(self.accounts)),
            "api_url": self.api_url.rstrip("/"),
            "storage_url": self.storage_url.rstrip("/"),
        }
        for name, value in converted.items():
            object.__setattr__(self, name, value)

    @property
    def explicit(self) -> frozenset[str]:
        """Names of the options given explicitly (they beat a seed file's ``config``)."""
        return self._explicit  # type: ignore[attr-defined,no-any-return]

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """Every valid option name."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def profile(cls, **values: Any) -> Config:
        """A config whose ``values`` count as defaults: a seed's ``config`` and callers beat them."""
        config = cls().replace(**values)
        object.__setattr__(config, "_explicit", frozenset())
        return config

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes`` (marked explicit); an unknown name is a TypeError listing the valid ones."""
        check_option_names(changes)
        config = dataclasses.replace(self, **changes)
        object.__setattr__(config, "_explicit", self.explicit | frozenset(changes))
        return config

    def under(self, options: Mapping[str, Any], *, explicit: bool = False) -> Config:
        """A copy where ``options`` (a seed's, or a state file's) fill in every option not given
        explicitly here; with ``explicit`` they count as explicit from then on."""
        check_option_names(options)
        taken = {name: value for name, value in options.items() if name not in self.explicit}
        config = dataclasses.replace(self, **taken)
        object.__setattr__(config, "_explicit", self.explicit | (frozenset(taken) if explicit else frozenset()))
        return config


class UnknownOption(TypeError, ConfigError):
    """A misspelt option: a TypeError (like a bad keyword argument) and a ConfigError (a 400)."""


def check_option_names(options: Mapping[str, Any]) -> None:
    """Raise :class:`UnknownOption` naming the valid options if any name is not one."""
    unknown = sorted(set(options) - set(Config.option_names()))
    if unknown:
        raise UnknownOption(
            f"unknown mh-mock option(s) {', '.join(unknown)}; valid options are: {', '.join(Config.option_names())}"
        )


@functools.cache
def _validators() -> Mapping[str, SchemaValidator]:
    from .schema import SchemaValidator

    return MappingProxyType({name: SchemaValidator(schema) for name, schema in OPTION_SCHEMAS.items()})


def to_jsonable(value: Any) -> Any:
    """Option values as JSON (for the admin API, seeds and the state file): what Config accepts back."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, Timing):
        return [value.queued, value.rendering]
    if isinstance(value, Outcome):
        return value.to_json()
    if isinstance(value, Mapping):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value
