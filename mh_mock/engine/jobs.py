"""Creating audio jobs, and the behaviour some kinds of job have of their own.

:func:`create` makes a project of any kind declared in :data:`mh_mock.vendor.JOBS`: it fills in
the kind's defaults, charges what the declaration prices, decides the outcome (explicit,
scenario rule, random mode, the kind's own check, or the default) and queues the job. A kind
whose input can make the job fail (or be refused) has one function in :data:`CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from ..audio import sniff_audio
from ..clock import format_timestamp
from ..config import Outcome
from ..errors import ConfigError, InsufficientCredits
from ..vendor import JOBS, MAX_AUDIO_SECONDS, Endpoint
from .models import Project
from .state import EXTENSIONS, State
from .tokens import PUBLIC

__all__ = ["CHECKS", "create"]

Check = Callable[[State, str, Mapping[str, Any]], Outcome | None]
"""A kind's own check of a new job's arguments: the outcome they imply (None: nothing), or a ConfigError."""


def _prompt_length(state: State, token: str, arguments: Mapping[str, Any]) -> Outcome | None:
    """A voice generator prompt over the limit is accepted (the schema has no maxLength); the job fails."""
    prompt, limit = arguments["prompt"], state.config_of(token).voice_prompt_limit
    if len(prompt) > limit:
        return Outcome.error("text_too_long", f"The text is {len(prompt)} characters long; the limit is {limit}")
    return None


def _clone_source(state: State, token: str, arguments: Mapping[str, Any]) -> Outcome | None:
    """The create call succeeds whatever the source; a source that is not audio fails the job."""
    path = arguments["audio_file_path"]
    if path.startswith(("http://", "https://")):
        try:
            parts = urlsplit(path)
        except ValueError as error:  # e.g. an unclosed IPv6 host: "http://[::1"
            return Outcome.error("invalid_file_format", f"The audio_file_path URL is not valid ({error}): {path!r}")
        extension = PurePosixPath(parts.path).suffix.lstrip(".").lower()
        library = (parts.hostname or "").endswith("magichour.ai") and "audioId=" in parts.query
        if library or extension in EXTENSIONS["audio"] or extension in EXTENSIONS["video"]:
            return None
        return Outcome.error(
            "invalid_file_format", f"The audio_file_path URL must end in an audio file extension, got {path!r}"
        )
    upload = state.uploads.get(path) if path.startswith("api-assets/") else None
    if upload is None or upload.owner not in (token, PUBLIC):
        return Outcome.error(
            "invalid_parameters",
            f"audio_file_path {path!r} is not an uploaded file: request an upload URL with "
            "POST /v1/files/upload-urls and PUT the file there first",
        )
    if upload.file is None:
        return Outcome.error(
            "invalid_parameters", f"audio_file_path {path!r} was never uploaded: PUT the file to its upload_url first"
        )
    if sniff_audio(upload.file.head) is None:
        return Outcome.error("invalid_file_format", f"{path!r} does not hold audio")
    return None


def _whole_seconds(state: State, token: str, arguments: Mapping[str, Any]) -> Outcome | None:
    duration = arguments["duration"]
    if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= MAX_AUDIO_SECONDS:
        raise ConfigError(f"duration must be whole seconds between 1 and {MAX_AUDIO_SECONDS}, got {duration!r}")
    return None


CHECKS: Mapping[Endpoint, Check] = {
    Endpoint.VOICE_GENERATOR: _prompt_length,
    Endpoint.VOICE_CLONER: _clone_source,
    Endpoint.MUSIC_GENERATOR: _whole_seconds,
}
"""The kinds with behaviour of their own."""


def arguments_of(endpoint: Endpoint | str, given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` with the kind's defaults filled in; a field of another kind is a ConfigError naming the valid ones."""
    if endpoint not in JOBS:
        raise ConfigError(f"endpoint must be one of {', '.join(JOBS)}, got {endpoint!r}")
    job = JOBS[Endpoint(endpoint)]
    unknown = sorted(set(given) - {"prompt", "name", *job.fields})
    if unknown:
        raise ConfigError(
            f"{', '.join(unknown)} do(es) not apply to {job.endpoint} jobs; they take: "
            f"{', '.join(['prompt', 'name', *job.fields])}"
        )
    prompt = given.get("prompt")
    if not isinstance(prompt, str):
        raise ConfigError(f"a {job.endpoint} job needs a prompt (a string), got {prompt!r}")
    return {"name": None, **{name: spec.default for name, spec in job.fields.items()}, **given}


def create(state: State, token: str | None, endpoint: Endpoint, arguments: Mapping[str, Any], outcome: Any) -> Project:
    """A new project of ``token`` (charged, queued), made from the job ``arguments`` (defaults filled in)."""
    job = JOBS[endpoint]
    chosen = Outcome.parse(outcome) if outcome is not None else None  # a bad outcome changes nothing
    state.catch_up()
    caller = state.check_token(token)
    tenant = state.tenant(caller)
    config = tenant.config
    check = CHECKS.get(endpoint)
    derived = None if check is None else check(state, caller, arguments)
    charge = job.charge(arguments, config.voice_credit_rate)
    # a call refused for lack of credits still has an account to refuse
    account = state.accounts.get(caller) or state.new_account(caller, config.starting_balance)
    if account.credits < charge:
        state.settle()  # (only now: a refund that is due may make room)
        if account.credits < charge:
            raise InsufficientCredits()
    now = tenant.clock.now()
    name, prompt = arguments["name"], arguments["prompt"]
    timing = None
    if chosen is None:  # explicit outcomes use up no rule and draw nothing
        scenario, timing = state.scenarios.decide(endpoint, caller, tenant.key, name, prompt, tenant.random)
        chosen = scenario or derived
    project = Project(
        id=state.ids.new(),
        owner=caller,
        endpoint=endpoint,
        name=name if name is not None else f"{job.label} - {format_timestamp(now)}",
        created_at=now,
        charge=charge,
        seconds=min(float(job.seconds(arguments, config.speech_chars_per_second)), MAX_AUDIO_SECONDS),
        outcome=chosen or config.default_outcome,
        timing=timing or config.timings[endpoint],
    )
    account.credits -= charge
    account.charged += charge
    state.changed("accounts", caller, False)
    state.add_project(project)
    return project
