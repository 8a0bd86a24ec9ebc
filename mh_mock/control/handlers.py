"""What each control operation does: a named function per operation, over the engine, answering a view.

Every function takes the :class:`OpContext` (the engine, and what the adapter allows and
provides) and the operation's arguments (path parameters, query and body, already validated
against the operation's schemas), and returns a view of :mod:`mh_mock.control.views`. Reads
happen inside the engine's lock, like every write. ``tenant`` arguments scope an operation to a
namespace of a shared server (a test's own); tokens it names join that namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..engine import jobs
from ..engine.controls import tenant_of
from ..vendor import DEFAULT_ENDPOINT
from .views import (
    AccountView,
    CallView,
    DeliveryView,
    FaultView,
    ProjectView,
    RuleView,
    ScenariosView,
    SeedView,
    StateView,
    TenantView,
    WebhookView,
    account_view,
    call_view,
    delivery_view,
    fault_view,
    project_view,
    rule_view,
    scenarios_view,
    state_view,
    tenant_view,
    webhook_view,
)

if TYPE_CHECKING:
    from ..engine.engine import Engine
    from ..engine.models import Project
    from ..engine.seeds import SeedPolicy

__all__ = ["Args", "OpContext"]

Args = dict[str, Any]


@dataclass
class OpContext:
    """What an operation runs with: the engine, and what the adapter allows and provides."""

    engine: Engine
    seed_policy: SeedPolicy
    deliver_now: Callable[[], None]
    """Send every due webhook now (the adapter's sender)."""

    def shown(self, args: Args) -> frozenset[str]:
        """The tokens an answer may show whole: the one the caller named, and those of the namespace it named."""
        shown = {args[name] for name in ("token", "tenant") if isinstance(args.get(name), str)}
        tenant = args.get("tenant")
        if isinstance(tenant, str):
            with self.engine.reading() as state:
                found = state.tenants.get(tenant)
                shown |= found.tokens if found is not None else set()
        return frozenset(shown)


# ---------------------------------------------------------------------------- the fake and its namespaces


def reset(c: OpContext, a: Args) -> StateView:
    c.engine.reset(seed_policy=c.seed_policy, **a)
    return state(c, {})


def state(c: OpContext, a: Args) -> StateView:
    with c.engine.settled() as current:
        return state_view(current, tenant_of(current, a.get("tenant")))


def advance(c: OpContext, a: Args) -> StateView:
    c.engine.controls.advance(a["seconds"], tenant=a.get("tenant"))
    return state(c, a)


def set_progression(c: OpContext, a: Args) -> StateView:
    c.engine.controls.set_progression(a["progression"], tenant=a.get("tenant"))
    return state(c, a)


def reset_tenant(c: OpContext, a: Args) -> StateView:
    options = {k: v for k, v in a.items() if k != "tenant"}
    c.engine.journal.forget(a["tenant"])
    c.engine.accounts.reset_tenant(a["tenant"], **options)
    return state(c, {"tenant": a["tenant"]})


def remove_tenant(c: OpContext, a: Args) -> StateView:
    c.engine.accounts.remove_tenant(a["tenant"])
    c.engine.journal.forget(a["tenant"])
    return state(c, {})


def join_tenant(c: OpContext, a: Args) -> StateView:
    c.engine.accounts.join(a["tenant"], a["token"])
    return state(c, {"tenant": a["tenant"]})


def tenants(c: OpContext, a: Args) -> list[TenantView]:
    shown = c.shown(a)
    with c.engine.transaction() as current:
        return [tenant_view(t, shown) for t in current.tenants.values()]


def seeds(c: OpContext, a: Args) -> list[SeedView]:
    from ..engine.seeds import bundled_seeds, load_seed

    return [{"name": name, "description": load_seed(name).get("description", "")} for name in bundled_seeds()]


# ---------------------------------------------------------------------------- projects


def _projects_view(c: OpContext, found: list[Project], shown: frozenset[str]) -> list[ProjectView]:
    with c.engine.transaction() as current:
        return [project_view(current, p, shown) for p in found]


def projects(c: OpContext, a: Args) -> list[ProjectView]:
    found = c.engine.controls.projects(
        a.get("token"), a.get("status"), account=a.get("account"), limit=a.get("limit"), tenant=a.get("tenant")
    )
    return _projects_view(c, found, c.shown(a))


def _one(c: OpContext, project: Project) -> ProjectView:
    return _projects_view(c, [project], frozenset())[0]


def project(c: OpContext, a: Args) -> ProjectView:
    return _one(c, c.engine.controls.project(a["id"]))


def create_project(c: OpContext, a: Args) -> ProjectView:
    token, endpoint, tenant = a["token"], a.get("endpoint", DEFAULT_ENDPOINT), a.get("tenant")
    given = {k: v for k, v in a.items() if k not in ("token", "endpoint", "outcome", "tenant")}
    arguments = jobs.arguments_of(endpoint, {"prompt": "Hello from mh-mock", **given})
    if tenant is not None:
        c.engine.accounts.join(tenant, token)
    created = c.engine.api.create(token, endpoint, outcome=a.get("outcome"), **arguments)
    return _projects_view(c, [created], c.shown(a))[0]


def finish(c: OpContext, a: Args) -> list[ProjectView]:
    return _projects_view(c, c.engine.controls.finish(a["id"]), frozenset())


def finish_all(c: OpContext, a: Args) -> list[ProjectView]:
    return _projects_view(c, c.engine.controls.finish(tenant=a.get("tenant")), c.shown(a))


def step(c: OpContext, a: Args) -> ProjectView:
    return _one(c, c.engine.controls.step(a["id"]))


def cancel(c: OpContext, a: Args) -> ProjectView:
    return _one(c, c.engine.controls.cancel(a["id"]))


def delete(c: OpContext, a: Args) -> ProjectView:
    return _one(c, c.engine.controls.delete(a["id"]))


def set_outcome(c: OpContext, a: Args) -> ProjectView:
    return _one(c, c.engine.controls.set_outcome(a["id"], a["outcome"]))


def force(c: OpContext, a: Args) -> ProjectView:
    return _one(c, c.engine.controls.force(a["id"], a["status"], code=a.get("code"), message=a.get("message")))


# ---------------------------------------------------------------------------- accounts


def accounts(c: OpContext, a: Args) -> list[AccountView]:
    shown = c.shown(a)
    found = c.engine.accounts.accounts(tenant=a.get("tenant"), limit=a.get("limit"))
    with c.engine.reading():
        return [account_view(account, shown) for account in found]


def account(c: OpContext, a: Args) -> AccountView:
    return account_view(c.engine.accounts.account(a["token"]), c.shown(a))


def add_account(c: OpContext, a: Args) -> AccountView:
    found = c.engine.accounts.add_account(
        a["token"], a.get("credits"), email=a.get("email"), tier=a.get("tier"), tenant=a.get("tenant")
    )
    return account_view(found, c.shown(a))


def set_balance(c: OpContext, a: Args) -> AccountView:
    found = c.engine.accounts.set_balance(a["token"], a["credits"], tenant=a.get("tenant"))
    return account_view(found, c.shown(a))


def set_balance_by_id(c: OpContext, a: Args) -> AccountView:
    return account_view(c.engine.accounts.set_balance_by_id(a["id"], a["credits"]), frozenset())


# ---------------------------------------------------------------------------- journal


def journal(c: OpContext, a: Args) -> list[CallView]:
    criteria = {k: a[k] for k in ("route", "status", "method", "project_id", "token") if k in a}
    calls = c.engine.journal.filter(**criteria)
    if "tenant" in a:
        calls = [call for call in calls if call.tenant == a["tenant"]]
    if "since" in a:
        calls = [call for call in calls if call.seq > a["since"]]
    if "limit" in a:
        calls = calls[-a["limit"] :]
    shown = c.shown(a)
    return [call_view(call, shown) for call in calls]


# ---------------------------------------------------------------------------- scenarios and faults


def scenarios(c: OpContext, a: Args) -> ScenariosView:
    rules, random = c.engine.simulation.rules(tenant=a.get("tenant"))
    rules = [rule for rule in rules if "token" not in a or rule.token == a["token"]]
    return scenarios_view(rules, random, c.shown(a))


def _join_target(c: OpContext, a: Args) -> None:
    """A rule, fault or endpoint aimed at a token, made for a namespace: the token joins it."""
    if a.get("tenant") is not None and a.get("token") is not None:
        c.engine.accounts.join(a["tenant"], a["token"])


def add_scenario(c: OpContext, a: Args) -> RuleView:
    _join_target(c, a)
    return rule_view(c.engine.simulation.add_rule(a), c.shown(a))


def fail_next(c: OpContext, a: Args) -> RuleView:
    _join_target(c, a)
    rule = {"outcome": f"error:{a.get('code', 'unknown_error')}", "times": a["count"]}
    rule |= {k: a[k] for k in ("endpoint", "token", "tenant") if k in a}
    return rule_view(c.engine.simulation.add_rule(rule), c.shown(a))


def fail_randomly(c: OpContext, a: Args) -> ScenariosView:
    c.engine.simulation.set_random_failures(a["ratio"], a.get("codes"), tenant=a.get("tenant"))
    return scenarios(c, a)


def clear_scenarios(c: OpContext, a: Args) -> ScenariosView:
    c.engine.simulation.clear_scenarios(tenant=a.get("tenant"))
    return scenarios(c, a)


def remove_scenario(c: OpContext, a: Args) -> ScenariosView:
    c.engine.simulation.remove_rule(a["id"])
    return scenarios(c, a)


def faults(c: OpContext, a: Args) -> list[FaultView]:
    shown = c.shown(a)
    found = c.engine.simulation.faults(tenant=a.get("tenant"))
    return [fault_view(f, shown) for f in found if "token" not in a or f.token == a["token"]]


def add_fault(c: OpContext, a: Args) -> FaultView:
    _join_target(c, a)
    return fault_view(c.engine.simulation.add_fault(a), c.shown(a))


def clear_faults(c: OpContext, a: Args) -> list[FaultView]:
    c.engine.simulation.clear_faults(tenant=a.get("tenant"))
    return faults(c, a)


def remove_fault(c: OpContext, a: Args) -> list[FaultView]:
    c.engine.simulation.remove_fault(a["id"])
    return faults(c, a)


# ---------------------------------------------------------------------------- webhooks


def webhooks(c: OpContext, a: Args) -> list[WebhookView]:
    shown = c.shown(a)
    found = c.engine.webhooks.endpoints(tenant=a.get("tenant"))
    return [webhook_view(e, shown) for e in found if "token" not in a or e.token == a["token"]]


def add_webhook(c: OpContext, a: Args) -> WebhookView:
    _join_target(c, a)
    endpoint = c.engine.webhooks.add(
        a["url"], a["secret"], a.get("events"), token=a.get("token"), tenant=a.get("tenant")
    )
    return webhook_view(endpoint, c.shown(a))


def remove_webhook(c: OpContext, a: Args) -> list[WebhookView]:
    c.engine.webhooks.remove(a["id"])
    return webhooks(c, a)


def deliveries(c: OpContext, a: Args) -> list[DeliveryView]:
    found = c.engine.webhooks.deliveries(tenant=a.get("tenant"), state_is=a.get("state"), limit=a.get("limit"))
    with c.engine.reading():
        return [delivery_view(d) for d in found]


def deliver_webhooks(c: OpContext, a: Args) -> list[DeliveryView]:
    c.deliver_now()
    return deliveries(c, a)


def redeliver(c: OpContext, a: Args) -> DeliveryView:
    return delivery_view(c.engine.webhooks.redeliver(a["id"]))
