"""What tests steer about accounts and namespaces: balances, registered tokens, a test's own namespace.

``engine.accounts``: each method one transaction. A namespace (:class:`~mh_mock.engine.tenants.Tenant`)
is what keeps test runs sharing one server apart: :meth:`Accounts.reset_tenant` gives a test its
own clock, progression and options, :meth:`Accounts.join` puts more tokens in it, and
:meth:`Accounts.remove_tenant` forgets everything of its tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..catalogue import AUDIO_ERROR_CODES
from ..clock import Clock
from ..config import check_option_names, server_wide
from ..errors import ConfigError, NotFound
from ..vocabulary import Tier
from .controls import tenant_of
from .models import Account
from .scenarios import RandomFailures
from .tenants import Tenant
from .tokens import token_problem

if TYPE_CHECKING:
    from .context import Context
    from .state import State

__all__ = ["Accounts", "check_credits", "check_token"]


def check_token(token: object, *, optional: bool = False) -> None:
    """Refuse (ConfigError) a value no API call could carry as its key (None too, unless ``optional``)."""
    if optional and token is None:
        return
    problem = token_problem(token)
    if problem is not None:
        raise ConfigError(problem)


def check_credits(credits: Any, *, allow_none: bool) -> None:
    """A balance: a whole number of credits from 0 to 2**53 - 1 (or None, if ``allow_none``)."""
    if credits is None and allow_none:
        return
    if not isinstance(credits, int) or isinstance(credits, bool) or not 0 <= credits <= 2**53 - 1:
        raise ConfigError(f"credits must be an integer >= 0, got {credits!r}")


class Accounts:
    """The account and namespace operations of one engine (``engine.accounts``)."""

    def __init__(self, context: Context) -> None:
        self._context = context

    # ------------------------------------------------------------------ accounts

    def accounts(self, *, tenant: str | None = None, limit: int | None = None) -> list[Account]:
        """Every account (of namespace ``tenant``'s tokens), in creation order; ``limit``: the newest only."""
        with self._context.settled() as state:
            found = list(state.accounts.values())
            if tenant is not None:
                members = tenant_of(state, tenant).tokens
                found = [a for a in found if a.token in members]
            return found if limit is None else found[-limit:]

    def account(self, token: str) -> Account:
        """The account of ``token``; :class:`NotFound` if it has made no call yet."""
        with self._context.settled() as state:
            found = state.accounts.get(token)
            if found is None:
                raise NotFound(
                    "No account for this token: it has made no API call yet (add_account registers one up front)"
                )
            return found

    def add_account(
        self,
        token: str,
        credits: int | None = None,
        *,
        email: str | None = None,
        tier: str | None = None,
        tenant: str | None = None,
    ) -> Account:
        """Register ``token`` (required in strict auth) with ``credits`` (default: its namespace's
        starting balance); with ``tenant``, the token joins that namespace first."""
        check_token(token)
        if tier is not None and tier not in Tier.values():
            raise ConfigError(f"tier must be one of {', '.join(Tier.values())}, got {tier!r}")
        check_credits(credits, allow_none=True)
        with self._context.transaction() as state:
            if tenant is not None:
                self._join(state, tenant, token)
            if token in state.accounts:
                raise ConfigError("an account for this token already exists (set_balance changes its credits)")
            balance = state.config_of(token).starting_balance if credits is None else credits
            account = state.new_account(token, balance)
            account.email = email if email is not None else account.email
            account.tier = tier if tier is not None else account.tier
            return account

    def set_balance(self, token: str, credits: int, *, tenant: str | None = None) -> Account:
        """Set the credits of ``token``'s account (created if needed; with ``tenant``, in that namespace)."""
        check_token(token)
        check_credits(credits, allow_none=False)
        with self._context.settled() as state:
            if tenant is not None:
                self._join(state, tenant, token)
            account = state.accounts.get(token) or state.new_account(token, credits)
            account.credits = credits
            state.changed("accounts", token, False)
            return account

    def set_balance_by_id(self, account_id: str, credits: int) -> Account:
        """Set the credits of the account with this public ``id`` (listings show ids, not whole tokens)."""
        check_credits(credits, allow_none=False)
        with self._context.settled() as state:
            account = next((a for a in state.accounts.values() if a.id == account_id), None)
            if account is None:
                raise NotFound(f"No account with id {account_id!r}")
            account.credits = credits
            state.changed("accounts", account.token, False)
            return account

    # ------------------------------------------------------------------ namespaces

    def reset_tenant(
        self, key: str, *, lease: float | None = None, defaults: Mapping[str, Any] | None = None, **options: Any
    ) -> Tenant:
        """Forget everything of namespace ``key`` and start it afresh: its own clock and progression
        and ``options`` (:data:`~mh_mock.config.TENANT_OPTIONS`), its token ``key`` a member. With a
        ``lease``, the engine forgets it after that many seconds without a call.

        ``defaults`` are options that count as defaults: those the fake's seed sets (``--seed``) beat
        them, as a seed beats any default; ``options`` beat both."""
        check_token(key)
        defaults = dict(defaults or {})
        check_option_names({**defaults, **options})
        problem = server_wide(sorted({*defaults, *options}))
        if problem is not None:
            raise ConfigError(problem)
        if lease is not None and (isinstance(lease, bool) or not isinstance(lease, (int, float)) or not lease > 0):
            raise ConfigError(f"a lease is a number of seconds > 0, got {lease!r}")
        with self._context.transaction() as state:
            defaults = {k: v for k, v in defaults.items() if k not in state.seed_options}
            options = {**defaults, **options}
            config = state.config.replace(**options)
            self.remove_tenant(key)
            self._refuse_foreign(state, key)
            start = config.start_time if "start_time" in options else state.now()
            tenant = Tenant(
                key,
                Clock(start, frozen=config.frozen_clock),
                config,
                config.progression,
                options=config.to_json(frozenset(options)),
                tokens={key},
                lease=lease,
            )
            if config.failure_ratio:
                tenant.random = RandomFailures.build(config.failure_ratio, AUDIO_ERROR_CODES, state.config.seed)
            tenant.touch()
            state.tenants[key] = tenant
            state.members[key] = tenant
            return tenant

    def join(self, key: str, token: str) -> None:
        """Make ``token`` one of namespace ``key``'s tokens (its projects run on the namespace's clock)."""
        check_token(token)
        with self._context.settled() as state:
            self._join(state, key, token)

    def _join(self, state: State, key: str, token: str) -> None:
        tenant = tenant_of(state, key)
        current = state.members.get(token)
        if current is tenant:
            return
        if current is not None:
            raise ConfigError(
                f"token {token[:12]!r}… belongs to another namespace on this server: tests sharing a server "
                "need tokens of their own (mh_token, or mh_factory.account())"
            )
        self._refuse_foreign(state, token)
        tenant.tokens.add(token)
        state.members[token] = tenant

    @staticmethod
    def _refuse_foreign(state: State, token: str) -> None:
        if token in state.accounts and token not in state.members:
            raise ConfigError(
                f"token {token[:12]!r}… already has an account in the server's own namespace: tests sharing a "
                "server need tokens of their own (mh_token, or mh_factory.account())"
            )

    def remove_tenant(self, key: str) -> list[str]:
        """Forget namespace ``key``: its tokens' projects, uploads and accounts, its rules, faults,
        webhooks and deliveries, and its clock. Returns its tokens (none if there was no such namespace)."""
        check_token(key)
        with self._context.transaction() as state:
            tenant = state.tenants.pop(key, None)
            if tenant is None:
                return []
            tokens = tenant.tokens
            self._forget(state, tokens)
            for token in tokens:
                state.members.pop(token, None)
            state.scenarios.remove_scoped(key, tokens)
            state.faults.remove_scoped(key, tokens)
            state.hub.remove_scoped(key, tokens)
            return sorted(tokens)

    @staticmethod
    def _forget(state: State, tokens: Iterable[str]) -> None:
        owners = set(tokens)
        for project_id in [p.id for p in state.projects.values() if p.owner in owners]:
            del state.projects[project_id]
            state.active.pop(project_id, None)
            state.changed("projects", project_id, True)
        for path in [u.file_path for u in state.uploads.values() if u.owner in owners]:
            del state.uploads[path]
            state.changed("uploads", path, True)
        for token in owners:
            if state.accounts.pop(token, None) is not None:
                state.changed("accounts", token, True)
