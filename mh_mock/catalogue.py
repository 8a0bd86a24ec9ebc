"""The job-error catalogue: codes a project can end with in ``error``, and their messages.

Codes come from the vendor docs (NOTES.md §12): the audio list of the webhook event page and the
generic table of the development-and-testing page. The vendor publishes no messages; these are
ours, written to say what went wrong the way the vendor's other messages do.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["AUDIO_ERROR_CODES", "JOB_ERRORS", "job_error_message"]

JOB_ERRORS = MappingProxyType(
    {
        # audio list (docs: integration/webhook/event-types.mdx)
        "text_too_long": "The text is longer than the 1000 characters this voice model accepts",
        "invalid_voice": "The selected voice is not available",
        "insufficient_credits": "Not enough credits to finish rendering",
        "processing_timeout": "Rendering took too long and was stopped",
        # generic table (docs: integration/development-and-testing.mdx)
        "no_source_face": "Please use an image with a detectable face",
        "invalid_file_format": "The input file is not a supported audio format",
        "file_too_large": "The input file is larger than your plan allows",
        "invalid_parameters": "The request parameters could not be processed",
        "unknown_error": "An unknown error occurred while rendering",
    }
)
"""Every documented job-error code with the message the fake uses for it."""

AUDIO_ERROR_CODES = ("text_too_long", "invalid_voice", "insufficient_credits", "processing_timeout")
"""The codes the vendor lists for audio jobs specifically."""


def job_error_message(code: str) -> str:
    """The catalogue message for ``code``; unknown codes (the set is open) get a generic one."""
    return JOB_ERRORS.get(code, f"The job failed ({code})")
