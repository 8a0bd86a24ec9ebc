"""The vendor's audio API, declared once: every route, and every kind of audio job with its price and timing.

Everything else is derived from these tables: the route table both adapters serve, the default
timings of :class:`~mh_mock.config.Config`, the admin API's ``create_project`` and its schema,
the factory's endpoints, the dashboard's labels and the reference pages under ``docs/``.

To follow a new audio endpoint of the vendor: copy the vendor's OpenAPI document into
``mh_mock/contract/``, add its member to :class:`Endpoint` and :class:`RouteName` and one
:class:`AudioJob` to :data:`JOBS`. If the job has behaviour of its own (an input that makes the
job fail), add one function to :mod:`mh_mock.engine.jobs`; the reference client may get a typed
method. Nothing else names a job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from .vocabulary import StrEnum

__all__ = [
    "DEFAULT_ENDPOINT",
    "JOBS",
    "MAX_AUDIO_SECONDS",
    "ROUTES",
    "AudioJob",
    "Endpoint",
    "JobField",
    "RouteName",
    "VendorRoute",
]

MAX_AUDIO_SECONDS = 3600
"""The longest audio any project renders (an hour of 8 kHz 8-bit WAV: 28.8 MB)."""


class Endpoint(StrEnum):
    """The kinds of audio job, one per audio-creating endpoint (see :data:`JOBS`)."""

    VOICE_GENERATOR = "voice_generator"
    VOICE_CLONER = "voice_cloner"
    MUSIC_GENERATOR = "music_generator"


class RouteName(StrEnum):
    """Names of the vendor and storage routes, as the journal and fault targets use them."""

    VOICE_GENERATOR_CREATE = "voice_generator.create"
    VOICE_CLONER_CREATE = "voice_cloner.create"
    MUSIC_GENERATOR_CREATE = "music_generator.create"
    PROJECTS_GET = "projects.get"
    PROJECTS_DELETE = "projects.delete"
    FILES_UPLOAD_URLS = "files.upload_urls"
    ACCOUNT_GET = "account.get"
    STORAGE_UPLOAD = "storage.upload"
    STORAGE_DOWNLOAD = "storage.download"

    @classmethod
    def matching(cls, pattern: str) -> list[RouteName]:
        """The routes a name or a ``prefix*`` pattern selects."""
        if pattern.endswith("*"):
            return [name for name in cls if name.value.startswith(pattern[:-1])]
        return [name for name in cls if name.value == pattern]


# ---------------------------------------------------------------------------- audio jobs


@dataclass(frozen=True)
class JobField:
    """An input of a job beyond its prompt and name, as the admin API's ``create_project`` takes it."""

    schema: Mapping[str, Any]
    default: Any
    description: str


Arguments = Mapping[str, Any]
"""What a job is created with: ``prompt``, ``name`` and the job's own :attr:`AudioJob.fields`."""


@dataclass(frozen=True)
class AudioJob:
    """One audio-creating endpoint of the vendor: where it is, how its body becomes a job, what it costs."""

    endpoint: Endpoint
    route: RouteName
    path: str
    operation_id: str
    """The contract operation whose request schema validates the body."""
    summary: str
    """The contract's summary, e.g. ``AI Voice Generator``."""
    queued: float
    """Default seconds queued (clock progression)."""
    rendering: float
    """Default seconds rendering."""
    read: Callable[[Mapping[str, Any]], dict[str, Any]]
    """The validated request body as job arguments."""
    charge: Callable[[Arguments, Fraction], int]
    """Credits charged, given the arguments and the voice credit rate."""
    seconds: Callable[[Arguments, float], float]
    """Length of the rendered audio, given the arguments and the speech rate (characters per second)."""
    fields: Mapping[str, JobField] = field(default_factory=dict)
    priced: str = ""
    """How :attr:`charge` prices a job, in words."""
    lasts: str = ""
    """How long its audio is (:attr:`seconds`), in words."""

    @property
    def label(self) -> str:
        """Human name, used in default project names (``Voice Generator - <created_at>``) and the dashboard."""
        return self.endpoint.value.replace("_", " ").title()

    @property
    def project_type(self) -> str:
        """The ``type`` field of its projects."""
        return self.endpoint.value.upper()


def _per_character(arguments: Arguments, rate: Fraction) -> int:
    return -(-len(arguments["prompt"]) * rate.numerator // rate.denominator)  # ceil, in integers


def _speech(arguments: Arguments, chars_per_second: float) -> float:
    return max(1.0, len(arguments["prompt"]) / chars_per_second)


def _per_second(arguments: Arguments, rate: Fraction) -> int:
    return int(arguments["duration"])


def _duration(arguments: Arguments, chars_per_second: float) -> float:
    return float(arguments["duration"])


def _named(body: Mapping[str, Any], **arguments: Any) -> dict[str, Any]:
    return {"name": body.get("name"), **arguments}


def _read_voice(body: Mapping[str, Any]) -> dict[str, Any]:
    style = body["style"]
    return _named(body, prompt=style["prompt"], voice_name=style["voice_name"])


def _read_clone(body: Mapping[str, Any]) -> dict[str, Any]:
    return _named(body, prompt=body["style"]["prompt"], audio_file_path=body["assets"]["audio_file_path"])


def _read_music(body: Mapping[str, Any]) -> dict[str, Any]:
    style = body["style"]
    return _named(
        body,
        prompt=style["prompt"],
        duration=int(body["duration"]),
        lyrics=style.get("lyrics"),
        instrumental=style.get("instrumental"),
    )


_TEXT = {"type": "string", "maxLength": 10_000}
_PER_CHARACTER = "`ceil(characters of the prompt * voice_credit_rate)`"
_SPEECH = "characters of the prompt ÷ `speech_chars_per_second`, at least 1 s"

JOBS: Mapping[Endpoint, AudioJob] = MappingProxyType(
    {
        job.endpoint: job
        for job in (
            AudioJob(
                Endpoint.VOICE_GENERATOR,
                RouteName.VOICE_GENERATOR_CREATE,
                "/v1/ai-voice-generator",
                "aiVoiceGenerator.createAudio",
                "AI Voice Generator",
                queued=1.0,
                rendering=3.0,
                read=_read_voice,
                charge=_per_character,
                seconds=_speech,
                fields={"voice_name": JobField(_TEXT, "Morgan Freeman", "the voice")},
                priced=_PER_CHARACTER,
                lasts=_SPEECH,
            ),
            AudioJob(
                Endpoint.VOICE_CLONER,
                RouteName.VOICE_CLONER_CREATE,
                "/v1/ai-voice-cloner",
                "aiVoiceCloner.createAudio",
                "AI Voice Cloner",
                queued=1.0,
                rendering=4.0,
                read=_read_clone,
                charge=_per_character,
                seconds=_speech,
                priced=_PER_CHARACTER,
                lasts=_SPEECH,
                fields={
                    "audio_file_path": JobField(
                        _TEXT, "https://example.com/voice.mp3", "the voice to clone: an api-assets/ path or a URL"
                    )
                },
            ),
            AudioJob(
                Endpoint.MUSIC_GENERATOR,
                RouteName.MUSIC_GENERATOR_CREATE,
                "/v1/ai-music-generator",
                "aiMusicGenerator.createAudio",
                "AI Music Generator",
                queued=1.0,
                rendering=5.0,
                read=_read_music,
                charge=_per_second,
                seconds=_duration,
                priced="one credit per second of `duration`",
                lasts="`duration`",
                fields={
                    "duration": JobField(
                        {"type": "integer", "minimum": 1, "maximum": MAX_AUDIO_SECONDS},
                        15,
                        "seconds of music (one credit each)",
                    ),
                    "lyrics": JobField(_TEXT, None, "the lyrics"),
                    "instrumental": JobField({"type": "boolean"}, None, "no vocals"),
                },
            ),
        )
    }
)
"""Every kind of audio job, by endpoint."""

DEFAULT_ENDPOINT = next(iter(JOBS))
"""The kind of job made when none is named (the admin API's ``create_project``, the factory)."""


# ---------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class VendorRoute:
    """One route of the vendor's API or of its storage host (upload and download URLs)."""

    method: str
    path: str
    name: RouteName
    summary: str
    operation_id: str | None = None
    """The contract operation whose request schema validates the body."""
    storage: bool = False
    """Served on the storage host, without an Authorization header."""
    raw_body: bool = False
    """The body is raw bytes (an upload), not JSON."""
    about: str | None = None
    """The path parameter naming the project the call is about (the journal and faults use it)."""

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES: tuple[VendorRoute, ...] = (
    *(VendorRoute("POST", job.path, job.route, job.summary, job.operation_id) for job in JOBS.values()),
    VendorRoute(
        "GET",
        "/v1/audio-projects/{id}",
        RouteName.PROJECTS_GET,
        "Get audio details",
        "audioProjects.getDetails",
        about="id",
    ),
    VendorRoute(
        "DELETE",
        "/v1/audio-projects/{id}",
        RouteName.PROJECTS_DELETE,
        "Delete audio",
        "audioProjects.delete",
        about="id",
    ),
    VendorRoute(
        "POST",
        "/v1/files/upload-urls",
        RouteName.FILES_UPLOAD_URLS,
        "Generate asset upload urls",
        "videoAssets.generatePresignedUrl",
    ),
    VendorRoute("GET", "/v1/account", RouteName.ACCOUNT_GET, "Get account", "account.get"),
    VendorRoute(
        "PUT",
        "/api-assets/{asset}/{name}",
        RouteName.STORAGE_UPLOAD,
        "Upload an asset to its upload_url",
        storage=True,
        raw_body=True,
    ),
    VendorRoute(
        "GET",
        "/outputs/{id}/{name}",
        RouteName.STORAGE_DOWNLOAD,
        "Download rendered audio from a downloads[].url",
        storage=True,
        about="id",
    ),
)
"""The vendor's endpoints, exactly as in the contract, and the storage host's."""
