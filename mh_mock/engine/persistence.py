"""Saving an engine's state to its :class:`~mh_mock.engine.store.Store`, and loading it back.

The :class:`Saver` is told which rows each operation changed (``changed``, and every status
change through the transition stream); :meth:`Saver.commit` writes those rows plus the small
global state (clocks, tenants, secrets, scenarios, faults, webhook endpoints) in one
transaction, under the engine lock, before the operation returns. :meth:`Saver.load` rebuilds a
:class:`~mh_mock.engine.state.State` after a restart, or after a failed commit (a rollback).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..config import HTTP_FIXED_OPTIONS, Config, to_jsonable
from ..vocabulary import Progression
from .faults import Faults
from .ids import IdFactory
from .models import Account, Project, Transition, Upload
from .saved import check_saved
from .scenarios import RandomFailures, Rule
from .state import State
from .tenants import Tenant

if TYPE_CHECKING:
    from .store import Rows, Store

__all__ = ["Saver"]

_TABLES = ("accounts", "projects", "uploads", "deliveries")


class Saver:
    """Keeps a state file equal to the engine's state, one commit per operation."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._changed: dict[str, dict[str, bool]] = {table: {} for table in _TABLES}
        self._saved_meta: dict[str, Any] | None = None

    def changed(self, table: str, key: str, removed: bool) -> None:
        """Note that a row changed (``removed``: it left the state)."""
        rows = self._changed.get(table)
        if rows is not None:
            rows[key] = removed

    def on_transition(self, project: Project, transition: Transition) -> None:
        """A status change: the project's row changed."""
        self._changed["projects"][project.id] = False

    def commit(self, state: State) -> None:
        """Write what changed since the last commit (nothing if nothing did)."""
        changed, self._changed = self._changed, {table: {} for table in _TABLES}
        meta = _meta(state)
        if meta == self._saved_meta and not any(changed.values()):
            return  # the ticker commits ten times a second; most of the time nothing changed
        try:
            self.store.save(meta, _rows(state, changed))
        except BaseException:
            for table, keys in changed.items():  # still unsaved: keep them for the next commit
                for key, removed in keys.items():
                    self._changed[table].setdefault(key, removed)
            raise
        self._saved_meta = meta

    def replace_all(self, state: State) -> None:
        """Make the file hold exactly ``state`` (after a reset), in one transaction."""
        everything = {
            "accounts": dict.fromkeys(state.accounts, False),
            "projects": dict.fromkeys(state.projects, False),
            "uploads": dict.fromkeys(state.uploads, False),
            "deliveries": {d.id: False for d in state.hub.deliveries()},
        }
        meta = _meta(state)
        self.store.replace(meta, _rows(state, everything))
        self._changed = {table: {} for table in _TABLES}
        self._saved_meta = meta

    def load(self, base: Config, changed: Callable[[str, str, bool], None]) -> State:
        """The state saved in the file (a restart, or a rollback after a failed commit)."""
        saved = self.store.load()
        check_saved(saved)  # a damaged file is refused naming its table, row and field
        meta = saved["engine"]
        config = base.under(meta["options"], explicit=True).under(meta["seed_options"])
        config = config.replace(signing_secret=meta["secret"])
        state = State(config, clock=None, changed=changed)
        state.seed_options = meta["seed_options"]
        state.audio_key = meta["audio_key"]
        state.accounts = {data["token"]: Account(**data) for data, _ in saved["accounts"]}
        state.projects = {data["id"]: Project.from_json(data) for data, _ in saved["projects"]}
        state.uploads = {data["file_path"]: Upload.from_json(data, head) for data, head in saved["uploads"]}
        restarts = meta["restarts"] + 1
        seed = None if config.seed is None else f"{config.seed}:restart-{restarts}"
        issued = {a.id for a in state.accounts.values()} | set(state.projects)
        state.ids = IdFactory(seed, issued | {path.split("/")[1] for path in state.uploads})
        state.restarts = restarts
        state.faults = Faults(seed)
        for tenant_data in meta["tenants"]:
            tenant = _tenant_from_json(tenant_data, config, seed)
            if tenant.key is None:
                state.default = tenant
            else:
                state.tenants[tenant.key] = tenant
                state.members.update(dict.fromkeys(tenant.tokens, tenant))
        state.active = {p.id: None for p in state.projects.values() if not p.terminal}
        for project in state.active_projects():
            state.schedule(project)
        for endpoint in meta["webhooks"]:
            state.hub.restore_endpoint(endpoint)
        state.hub.restore_deliveries(data for data, _ in saved["deliveries"])
        for fault in meta["faults"]:
            state.faults.restore(fault)
        for rule in meta["scenarios"]:
            state.scenarios.add(Rule.from_json({k: v for k, v in rule.items() if k != "id"}, rule["id"]))
        issued_ids = meta["issued"]
        state.hub.carry_on_from(issued_ids["webhooks"])
        state.scenarios.carry_on_from(issued_ids["scenarios"])
        state.faults.carry_on_from(issued_ids["faults"])
        self._changed = {table: {} for table in _TABLES}
        self._saved_meta = _meta(state)
        return state

    def close(self) -> None:
        """Checkpoint and close the file."""
        self.store.close()


def _meta(state: State) -> dict[str, Any]:
    options = {name: to_jsonable(getattr(state.config, name)) for name in state.config.explicit - HTTP_FIXED_OPTIONS}
    return {
        "secret": state.signing_secret,
        "audio_key": state.audio_key,
        "options": options,
        "seed_options": state.seed_options,
        "restarts": state.restarts,
        "tenants": [state.default.to_json(), *(t.to_json() for t in state.tenants.values())],
        "scenarios": [rule.to_json() for rule in state.scenarios.rules],
        "faults": [fault.to_json() for fault in state.faults.rules],
        "webhooks": [e.to_json() for e in state.hub.endpoints.values() if e.url is not None],
        "issued": {
            "webhooks": state.hub.endpoints_issued,
            "scenarios": state.scenarios.issued,
            "faults": state.faults.issued,
        },
    }


def _rows(state: State, changed: dict[str, dict[str, bool]]) -> dict[str, Rows]:
    """``table → [(key, json or None if removed, blob)]`` for the changed keys."""
    rows: dict[str, list[tuple[str, dict[str, Any] | None, bytes | None]]] = {table: [] for table in _TABLES}
    for key, removed in changed["accounts"].items():
        account = None if removed else state.accounts.get(key)
        rows["accounts"].append((key, None if account is None else account.to_json(), None))
    for key, removed in changed["projects"].items():
        project = None if removed else state.projects.get(key)
        rows["projects"].append((key, None if project is None else project.to_json(), None))
    for key, removed in changed["uploads"].items():
        upload = None if removed else state.uploads.get(key)
        head = None if upload is None or upload.file is None else upload.file.head
        rows["uploads"].append((key, None if upload is None else upload.to_json(), head))
    for key, removed in changed["deliveries"].items():
        delivery = None if removed else state.hub.get(key)
        rows["deliveries"].append((key, None if delivery is None else delivery.to_json(), None))
    return dict(rows)


def _tenant_from_json(data: dict[str, Any], config: Config, seed: str | None) -> Tenant:
    clock = Clock()
    clock.restore(data["clock"])
    tenant = Tenant(
        data["key"],
        clock,
        config.replace(**data["options"]) if data["options"] else config,
        Progression(data["progression"]),
        options=data["options"],
        tokens=set(data["tokens"]),
        lease=data["lease"],
    )
    tenant.touch()
    if data["random"] is not None:
        tenant.random = RandomFailures.build(data["random"][0], data["random"][1], seed)
    return tenant
