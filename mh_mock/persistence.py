"""Saving an engine's changes to its :class:`~mh_mock.store.Store`, and restoring from one.

The engine marks what each call changed (``_touch``); :meth:`Persistence.commit` writes those
rows plus the small global state (clock, progression, scenarios, faults, webhook endpoints) in
one transaction, under the engine lock, so the file never holds an older state than one already
answered. :meth:`Persistence._restore` rebuilds the engine from the file after a restart.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .config import Progression, to_jsonable
from .ids import IdFactory, Signer
from .models import Account, Upload, project_from_json, project_to_json
from .scenarios import RandomFailures, Rule
from .state import EngineState

__all__ = ["Persistence"]


class Persistence(EngineState):
    """The persistence half of :class:`~mh_mock.engine.Engine` (inactive without a store)."""

    def commit(self) -> None:
        """Save what changed since the last commit. The dispatcher calls it before each answer
        leaves, so whatever a client was told is on disk."""
        if self._store is None:
            return
        with self._lock:  # snapshot and write together: a slower older commit cannot land last
            touched, self._touched = self._touched, {"accounts": set(), "projects": set(), "uploads": set()}
            changes: dict[str, list[tuple[str, dict[str, Any], bytes | None]]] = {
                "accounts": [(t, asdict(self._accounts[t]), None) for t in touched["accounts"] if t in self._accounts],
                "projects": [
                    (i, project_to_json(self._projects[i]), None) for i in touched["projects"] if i in self._projects
                ],
                "uploads": [self._upload_row(path) for path in touched["uploads"] if path in self._uploads],
                "deliveries": [(d.id, d.to_json(), None) for d in self.webhooks.take_touched()],
            }
            meta = self._meta()
            if meta == self._saved_meta and not any(changes.values()):
                return  # the ticker commits ten times a second; most of the time nothing changed
            self._store.save(meta, changes)
            self._saved_meta = meta

    def _upload_row(self, path: str) -> tuple[str, dict[str, Any], bytes | None]:
        upload = self._uploads[path]
        return path, {k: v for k, v in asdict(upload).items() if k != "data"}, upload.data

    def _meta(self) -> dict[str, Any]:
        random = self.scenarios.random
        return {
            "clock": self.clock.snapshot(),
            "progression": self.progression.value,
            "secret": self._secret.decode(),
            "options": to_jsonable(self._effective_options),
            "restarts": self._restarts,
            "scenarios": [rule.describe() for rule in self.scenarios.rules],
            "random": None if random is None else [random.ratio, list(random.codes)],
            "faults": [fault.describe() for fault in self.faults.rules],
            "webhooks": [e.describe() for e in self.webhooks.endpoints.values() if e.url is not None],
        }

    def _forget_saved(self) -> None:
        """After a reset: empty the file and save everything anew."""
        if self._store is None:
            return
        self._store.clear()
        self._saved_meta = None
        self._touched["accounts"].update(self._accounts)
        self._touched["projects"].update(self._projects)
        self._touched["uploads"].update(self._uploads)
        self.commit()

    def _restore(self, state: dict[str, Any]) -> None:
        """Continue from a saved state (a restart with the same ``--state`` file)."""
        meta = state["engine"]
        with self._lock:
            cfg = self.base_config.replace(**meta["options"]) if meta["options"] else self.base_config
            self._restarts = meta["restarts"] + 1
            # an unseeded fake stays unseeded; a seeded one continues on a new, still seeded, stream
            seed = None if cfg.seed is None else f"{cfg.seed}:restart-{self._restarts}"
            self._fresh(cfg, seed)
            self._effective_options = dict(meta["options"])
            self.clock.restore(meta["clock"])
            self._secret = meta["secret"].encode()
            self._signer = Signer(self._secret)
            self._accounts = {data["token"]: Account(**data) for data, _ in state["accounts"]}
            self._projects = {data["id"]: project_from_json(data) for data, _ in state["projects"]}
            self._uploads = {data["file_path"]: Upload(**data, data=blob) for data, blob in state["uploads"]}
            issued = {a.id for a in self._accounts.values()} | set(self._projects)
            self._ids = IdFactory(seed, issued | {path.split("/")[1] for path in self._uploads})
            self._active = {p.id for p in self._projects.values() if not p.terminal}
            self.progression = Progression(meta["progression"])
            for project in self._iter_active():
                self._schedule(project)
            for endpoint in meta["webhooks"]:
                self.webhooks.restore_endpoint(endpoint)
            self.webhooks.restore_deliveries(data for data, _ in state["deliveries"])
            for fault in meta["faults"]:
                self.faults.restore(fault)
            for rule in meta["scenarios"]:
                self.scenarios.add(Rule.from_json({k: v for k, v in rule.items() if k != "id"}, rule["id"]))
            if meta["random"] is not None:
                self.scenarios.random = RandomFailures.build(meta["random"][0], meta["random"][1], seed)
            self._saved_meta = self._meta()

    def close(self) -> None:
        """Close the store and the webhook client."""
        self.webhooks.close()
        if self._store is not None:
            self._store.close()
