"""The ``mh_factory`` fixture's object: projects in any state and accounts, built with Faker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faker import Faker

    from mh_mock.control.remote import Control
    from mh_mock.control.views import AccountView, ProjectView

__all__ = ["STATES", "Factory"]

STATES = ("queued", "rendering", "complete", "error", "canceled", "deleted")
"""States :meth:`Factory.project` can put a project in."""


class Factory:
    """Builds state for tests that start mid-story, through the fake's control API.

    Names, prompts, emails and tokens come from a seeded :class:`faker.Faker`, so a test sees the
    same data on every run. Nothing it does shows up in the journal.
    """

    def __init__(self, control: Control, token: str, seed: int) -> None:
        try:
            from faker import Faker
        except ImportError:
            raise RuntimeError(
                "mh_factory makes its data with Faker, an optional dependency: pip install 'mh-mock[factory]'"
            ) from None

        self.control = control
        self.token = token
        """The token projects belong to unless another is given (the test's ``mh_token``)."""
        self.faker: Faker = Faker()
        self.faker.seed_instance(seed)

    def account(
        self, credits: int | None = None, *, token: str | None = None, tier: str | None = None, email: str | None = None
    ) -> AccountView:
        """Register an account (a new token unless given) with ``credits``; returns it with its ``token``."""
        # derived from the test's own token, which is unique per run on a shared server: runs never clash
        token = token or f"{self.token}_{self.faker.pystr(min_chars=8, max_chars=8).lower()}"
        return self.control.add_account(token, credits, tier=tier, email=email or self.faker.email())

    def project(
        self,
        status: str = "complete",
        *,
        endpoint: str | None = None,
        token: str | None = None,
        error_code: str | None = None,
        name: str | None = None,
        prompt: str | None = None,
        **fields: Any,
    ) -> ProjectView:
        """A project of ``token`` already in ``status`` (see :data:`STATES`), charged like a real one:
        a job of ``endpoint`` (any kind the fake knows; default: the voice generator), with the kind's
        own ``fields`` (``duration``, ``voice_name``, …).

        ``error`` projects fail with ``error_code`` (default: a code from the contract's audio
        catalogue); ``deleted`` ones are complete, then deleted.
        """
        from mh_mock.catalogue import AUDIO_ERROR_CODES

        if status not in STATES:
            raise ValueError(f"status must be one of {', '.join(STATES)}, got {status!r}")
        fields["name"] = name if name is not None else self.faker.catch_phrase()
        fields["prompt"] = prompt if prompt is not None else self.faker.sentence(nb_words=8)
        outcome = "complete"  # explicit, so no pending scenario rule decides it instead
        if status == "error":
            outcome = f"error:{error_code or self.faker.random_element(AUDIO_ERROR_CODES)}"
        elif error_code is not None:
            raise ValueError(f"error_code only applies to status='error', not {status!r}")
        project = self.control.create_project(token or self.token, endpoint=endpoint, outcome=outcome, **fields)
        if status == "rendering":
            project = self.control.step(project["id"])
        elif status == "canceled":
            project = self.control.cancel(project["id"])
        elif status in ("complete", "error", "deleted"):
            [project] = self.control.finish(project["id"])
        if status == "deleted":
            project = self.control.delete(project["id"])
        return project
