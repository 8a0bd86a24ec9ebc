"""Everything about a fake that can be configured, in one frozen dataclass.

Each option is declared once (:func:`~mh_mock.optionspec.option`): its default, its JSON Schema,
one line of help, its ``mh-mock serve`` flag, and whether a namespace of a shared server may set
it for its own tokens. The same schema checks options given in Python, in seed files and over
the admin API, so every bad value gets the same message naming the field; the serve flags, the
``--help`` texts and ``docs/reference/options.md`` come from the same declarations.

A :class:`Config` remembers which options were given explicitly (:attr:`Config.explicit`), so an
explicit value beats a seed file's even when it equals the default. The layers, lowest first:
defaults < a profile (``mh-mock serve``'s real-time clock) < a seed file's ``config`` < options
given by the caller.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._json import check_depth
from .catalogue import JOB_ERRORS, job_error_message
from .clock import MAX_TIME
from .errors import ConfigError
from .optionspec import declared, option, schemas
from .vendor import JOBS, MAX_AUDIO_SECONDS, Endpoint
from .vocabulary import TERMINAL_STATUSES, Progression, Status, Tier

if TYPE_CHECKING:
    from .schema import SchemaValidator

__all__ = [
    "HTTP_FIXED_OPTIONS",
    "OPTION_SCHEMAS",
    "TENANT_OPTIONS",
    "Config",
    "Outcome",
    "Timing",
    "UnknownOption",
    "check_option_names",
    "server_wide",
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

DEFAULT_TIMINGS: Mapping[Endpoint, Timing] = MappingProxyType(
    {endpoint: Timing(job.queued, job.rendering) for endpoint, job in JOBS.items()}
)
"""Seconds queued and rendering per endpoint, as the vendor table declares them."""

_CREDITS = {"type": "integer", "minimum": 0, "maximum": 2**53 - 1}
_SECONDS = {"type": "number", "minimum": 0, "maximum": 86_400}
_TTL = {"type": "number", "exclusiveMinimum": 0, "maximum": 315_360_000}
_TIMING = {
    "oneOf": [
        {"type": "array", "items": _SECONDS, "minItems": 2, "maxItems": 2},
        {"type": "object", "additionalProperties": False, "properties": {"queued": _SECONDS, "rendering": _SECONDS}},
    ]
}
OUTCOME_SCHEMA = {
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
_TIMINGS_SHOWN = ", ".join(f"{job.label.lower()} {job.queued:g}+{job.rendering:g} s" for job in JOBS.values())


@dataclass(frozen=True)
class Config:
    """Options of one fake. Every field has a default that mirrors the real API.

    Build variants with :meth:`replace`, which rejects misspelt names with a TypeError that
    lists the valid ones.
    """

    starting_balance: int = option(
        10_000,
        schema=_CREDITS,
        help="Credits of an account created on first use of a token.",
        flag="--balance",
        metavar="CREDITS",
        per_tenant=True,
    )
    seed: int | str | None = option(
        None,
        schema={"type": ["integer", "string", "null"], "maxLength": 256, "minimum": -(2**63), "maximum": 2**63},
        help="Makes ids and rendered audio reproducible: same seed, same run.",
        flag="--random-seed",
        metavar="SEED",
        server_hint="ids come from one stream per server: start it with --random-seed, or run the test in-process",
    )
    progression: Progression = option(
        Progression.POLL,
        schema={"enum": Progression.values()},
        help="What moves projects on: `poll` (each GET) or `clock` (time).",
        per_tenant=True,
        shown_default="`poll` (`mh-mock serve`: `clock`)",
    )
    reads_per_step: int = option(
        1,
        schema={"type": "integer", "minimum": 1, "maximum": 1000},
        help="In poll progression, GETs of a project needed per status step.",
        metavar="N",
        per_tenant=True,
    )
    timings: Mapping[Endpoint, Timing] = option(
        factory=lambda: DEFAULT_TIMINGS,
        schema={"type": "object", "propertyNames": {"enum": Endpoint.values()}, "additionalProperties": _TIMING},
        help="Clock progression: seconds queued and rendering, per endpoint (`--queued`, `--rendering` set every endpoint).",
        flag=None,
        per_tenant=True,
        shown_default=_TIMINGS_SHOWN,
    )
    frozen_clock: bool = option(
        True,
        schema={"type": "boolean"},
        help="The clock stands still until advanced (tests); off, it follows real time (standalone).",
        per_tenant=True,
        shown_default="on (`mh-mock serve`: off)",
    )
    start_time: float | None = option(
        None,
        schema={"type": ["number", "null"], "minimum": 0, "maximum": MAX_TIME},
        help="Epoch seconds the clock starts at; none means the real time at creation.",
        metavar="EPOCH",
        per_tenant=True,
    )
    account_tier: Tier = option(
        Tier.CREATOR,
        schema={"enum": Tier.values()},
        help="`tier` of accounts created on first use.",
        per_tenant=True,
    )
    account_email: str | None = option(
        None,
        schema={"type": ["string", "null"], "maxLength": 320},
        help="`email` of accounts created on first use.",
        metavar="EMAIL",
        per_tenant=True,
    )
    preload: str | Mapping[str, Any] | None = option(
        None,
        schema={"type": ["string", "object", "null"], "minLength": 1, "maxLength": 4096},
        help="A seed (bundled name such as `examples`, a file path, or a document) applied on every reset.",
        flag="--seed",
        metavar="FILE|NAME",
        server_hint="seeded ids are fixed, so runs sharing a server would clash: start the server with --seed, "
        "or run the test in-process",
    )
    strict_auth: bool = option(
        False,
        schema={"type": "boolean"},
        help="Only accept tokens registered up front (`--token`, `add_account`).",
        server_hint="start the server with --strict-auth",
    )
    accounts: Mapping[str, int] = option(
        factory=dict,
        schema={
            "type": "object",
            "propertyNames": {"minLength": 1, "maxLength": 256},
            "additionalProperties": _CREDITS,
        },
        help="Tokens registered up front, with their balances (`--token TOKEN[=CREDITS]`).",
        flag=None,
        server_hint="register them in the test with add_account(token, credits) (they join its namespace)",
    )
    voice_credit_rate: Fraction = option(
        Fraction(1, 10),
        schema={
            "oneOf": [
                {"type": "number", "minimum": 0, "maximum": 1000},
                {"type": "string", "pattern": "^[0-9]{1,6}(\\.[0-9]{1,9})?(/[1-9][0-9]{0,8})?$"},
            ]
        },
        help="Credits per character of voice generator and cloner prompts (spec: 0.1; tool pages: 0.05).",
        metavar="RATE",
        per_tenant=True,
        shown_default="`0.1`",
    )
    voice_prompt_limit: int = option(
        1000,
        schema={"type": "integer", "minimum": 0, "maximum": 1_000_000},
        help="Voice generator prompts longer than this end the job in `error` / `text_too_long`.",
        metavar="CHARACTERS",
        per_tenant=True,
    )
    default_outcome: Outcome = option(
        COMPLETE,
        schema=OUTCOME_SCHEMA,
        help="How jobs end unless their input decides otherwise: complete, canceled, error or error:<code>.",
        metavar="OUTCOME",
        per_tenant=True,
        shown_default="`complete`",
    )
    failure_ratio: float = option(
        0.0,
        schema={"type": "number", "minimum": 0, "maximum": 1},
        help="Seeded random mode: this fraction of jobs fails with a code from the audio catalogue.",
        metavar="RATIO",
        per_tenant=True,
    )
    webhook_timestamps: str = option(
        "real",
        schema={"enum": ["real", "fake"]},
        help="`magic-hour-event-timestamp` from the real wall clock or the fake's clock.",
        server_hint="start the server with --webhook-timestamps",
    )
    webhook_timeout: float = option(
        10.0,
        schema={"type": "number", "exclusiveMinimum": 0, "maximum": 600},
        help="Seconds one webhook attempt may take before it counts as failed (and is retried).",
        metavar="SECONDS",
        server_hint="start the server with --webhook-timeout",
    )
    delivery_log_limit: int = option(
        10_000,
        schema={"type": "integer", "minimum": 1, "maximum": 1_000_000},
        help="Finished webhook deliveries kept in the log (pending ones are always kept).",
        metavar="N",
        server_hint="start the server with --delivery-log-limit",
    )
    refund_on_cancel: bool = option(
        True,
        schema={"type": "boolean"},
        help="Whether a canceled job (or a deleted unfinished one) gives its credits back.",
        per_tenant=True,
    )
    download_ttl: float = option(
        24 * 3600,
        schema=_TTL,
        help="Lifetime in seconds of a download URL (the contract: 24 h).",
        metavar="SECONDS",
        per_tenant=True,
    )
    upload_ttl: float = option(
        3600,
        schema=_TTL,
        help="Lifetime in seconds of an upload URL (silent in the contract).",
        metavar="SECONDS",
        per_tenant=True,
    )
    max_upload_bytes: int = option(
        50 * 1024 * 1024,
        schema={"type": "integer", "minimum": 0, "maximum": 1 << 30},
        help="Largest body a PUT to an upload URL may carry (413 above it).",
        metavar="BYTES",
        server_hint="start the server with --max-upload-bytes",
    )
    max_body_bytes: int = option(
        1024 * 1024,
        schema={"type": "integer", "minimum": 0, "maximum": 64 << 20},
        help="Largest JSON body an API call may carry (413 above it; admin calls have a limit of their own).",
        metavar="BYTES",
        server_hint="start the server with --max-body-bytes",
    )
    speech_chars_per_second: float = option(
        15.0,
        schema={"type": "number", "minimum": 0.1, "maximum": 1000},
        help=f"Length of rendered speech: characters of text per second of audio (at most {MAX_AUDIO_SECONDS} s).",
        metavar="RATE",
        per_tenant=True,
    )
    journal_limit: int | None = option(
        10_000,
        schema={"type": ["integer", "null"], "minimum": 1, "maximum": 1_000_000},
        help="Keep only this many most recent calls in the journal (null: all).",
        metavar="N",
        server_hint="start the server with --journal-limit",
    )
    signing_secret: str | None = option(
        None,
        schema={"type": ["string", "null"], "minLength": 16, "maxLength": 256},
        help="Key of download and upload URL signatures; none draws a random one per fake (never from `seed`).",
        env="MH_MOCK_SIGNING_SECRET",
        secret=True,
        metavar="SECRET",
        shown_default="random",
    )
    api_url: str = option(
        "https://api.magichour.ai",
        schema=_URL,
        help="Where the API is served (in-process: the intercepted base URL; `mh-mock serve`: `--public-url`).",
        flag=None,
    )
    storage_url: str = option(
        "https://videos.magichour.ai",
        schema=_URL,
        help="Where upload and download URLs point (in-process: the intercepted storage host).",
        flag=None,
    )

    def __new__(cls, *args: Any, **kwargs: Any) -> Config:
        self = object.__new__(cls)
        given = {f.name for f in dataclasses.fields(cls)[: len(args)]} | set(kwargs)
        object.__setattr__(self, "_explicit", frozenset(given))
        return self

    def __post_init__(self) -> None:
        if self.preload is not None and not isinstance(self.preload, str):
            check_depth(self.preload, "preload")  # before anything recurses into it
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
                {**DEFAULT_TIMINGS, **{Endpoint(k): Timing.parse(v) for k, v in self.timings.items()}}
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
        explicit: frozenset[str] = object.__getattribute__(self, "_explicit")
        return explicit

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

    def to_json(self, names: frozenset[str] | None = None) -> dict[str, Any]:
        """The options (or only ``names``) as JSON: what :class:`Config` accepts back."""
        return {
            name: to_jsonable(getattr(self, name)) for name in self.option_names() if names is None or name in names
        }


OPTION_SCHEMAS: Mapping[str, Mapping[str, Any]] = MappingProxyType(dict(schemas(Config)))
"""The JSON Schema of every option (as :func:`to_jsonable` writes its value)."""

HTTP_FIXED_OPTIONS = frozenset({"api_url", "storage_url", "signing_secret"})
"""Options set when a fake is created, never changed by a reset (its hosts and URL secret)."""

TENANT_OPTIONS = tuple(item.name for item in declared(Config) if item.spec.per_tenant)
"""Options each namespace of a shared server may set for its own tokens."""


def server_wide(names: Iterable[str]) -> str | None:
    """Why options ``names`` cannot be one namespace's own on a shared server, and what to do instead
    (None: they can)."""
    shared = [name for name in names if name not in TENANT_OPTIONS]
    if not shared:
        return None
    hints = {item.name: item.spec.server_hint for item in declared(Config)}
    advice = "; ".join(f"{name}: {hints.get(name) or 'it is set when the server starts'}" for name in shared)
    return (
        f"{', '.join(shared)} cannot be set for one test on a shared server (every run there shares "
        f"{'it' if len(shared) == 1 else 'them'}; a test may set {', '.join(TENANT_OPTIONS)}). Instead: {advice}"
    )


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
