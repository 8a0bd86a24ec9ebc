"""The engine: one fake's state, its transactions, reset, and the stream of transitions.

Both adapters (respx in-process, ASGI standalone) turn requests into calls on an
:class:`Engine` and nothing more. The engine is composed of small parts: the :class:`State`
(swapped whole on reset), and one operation class per concern, each acting on the state in
transactions: :class:`~mh_mock.engine.api.Api` (the vendor endpoints),
:class:`~mh_mock.engine.controls.Controls` (projects and time),
:class:`~mh_mock.engine.accounts.Accounts` (accounts and namespaces),
:class:`~mh_mock.engine.simulation.Simulation` (outcome rules and faults) and
:class:`~mh_mock.engine.webhooks.Webhooks` (endpoints and deliveries). A
:class:`TransitionStream` carries status changes to the webhook hub and, with a state file, the
:class:`~mh_mock.engine.persistence.Saver`. Every operation is a :meth:`Engine.transaction`: with
a saver, what it changed is committed before it returns, or rolled back and refused, so what a
client is told always equals what a restart restores.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..config import HTTP_FIXED_OPTIONS, Config, check_option_names
from ..errors import ConfigError, Unavailable
from ..journal import Journal
from .accounts import Accounts
from .api import Api
from .controls import Controls
from .models import Project, Transition
from .seeds import TRUSTED, SeedPolicy, apply_seed, load_seed
from .simulation import Simulation
from .state import State, TransitionListener
from .webhooks import Webhooks

if TYPE_CHECKING:
    from .persistence import Saver
    from .store import Store

__all__ = ["Engine", "TransitionStream"]

logger = logging.getLogger("mh_mock")


class TransitionStream:
    """Every status change, in order, to every subscriber."""

    def __init__(self) -> None:
        self._listeners: list[TransitionListener] = []
        self._watchers = 0

    def subscribe(self, listener: TransitionListener, *, watching: bool = True) -> Callable[[], None]:
        """Call ``listener(project, transition)`` on every status change; returns the unsubscriber.
        ``watching``: the listener wants each transition when it is due (the engine's own bookkeeping
        does not: it is told of a transition whenever it is applied)."""
        self._listeners.append(listener)
        self._watchers += watching

        def unsubscribe() -> None:
            self._listeners.remove(listener)
            self._watchers -= watching

        return unsubscribe

    def watched(self) -> bool:
        """Whether a listener wants transitions when they are due."""
        return self._watchers > 0

    def publish(self, project: Project, transition: Transition) -> None:
        for listener in tuple(self._listeners):
            listener(project, transition)


class _Staging:
    """A state being built outside the engine lock (a reset applying its seed)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[State]:
        with self._lock:
            yield self.state

    @contextlib.contextmanager
    def settled(self) -> Iterator[State]:
        with self._lock:
            self.state.settle()
            yield self.state

    reading = transaction


class Engine:
    """One fake Magic Hour audio API: accounts, projects, uploads, outputs and clocks.

    Every public method is thread-safe. ``engine.api`` holds the vendor endpoints; what tests
    steer is in ``engine.controls``, ``engine.accounts``, ``engine.simulation`` and
    ``engine.webhooks``. With a ``store`` the engine resumes from it and saves every change
    (see :mod:`mh_mock.engine.persistence`).
    """

    state: State
    """Everything the fake knows now (a reset swaps in a new one)."""

    def __init__(self, config: Config | None = None, *, clock: Clock | None = None, store: Store | None = None) -> None:
        self.base_config = config or Config()
        self.lock = threading.RLock()
        self.transitions = TransitionStream()
        self.api = Api(self)
        self.controls = Controls(self)
        self.accounts = Accounts(self)
        self.simulation = Simulation(self)
        self.webhooks = Webhooks(self)
        self.journal = Journal(self.base_config.journal_limit)
        self._clock = clock
        self._transaction = _Transaction(self)
        self._settled = _Settled(self._transaction)
        self._broken: str | None = None
        self._saver: Saver | None = None
        self._generations = 0
        self.transitions.subscribe(self._queue_webhooks, watching=False)  # (webhooks count as observers themselves)
        if store is not None:
            from .persistence import Saver

            self._saver = Saver(store)
            self.transitions.subscribe(self._saver.on_transition, watching=False)
            if not store.is_empty():
                self._adopt(self._saver.load(self.base_config, self._changed))
                return
        self.reset()

    # ------------------------------------------------------------------ transactions

    @property
    def clock(self) -> Clock:
        """The fake's own clock (namespaces with a clock of their own aside)."""
        return self.state.default.clock

    @property
    def persistent(self) -> bool:
        """True if every change is saved to a state file."""
        return self._saver is not None

    @property
    def config(self) -> Config:
        """The options in force (a reset with options changes them until the next reset)."""
        return self.state.config

    def now(self, token: str | None = None) -> float:
        """The fake's clock (or that of ``token``'s namespace), in epoch seconds."""
        return self.state.now(token)

    def transaction(self) -> _Transaction:
        """Hold the engine for one operation; the outermost one commits (or rolls back and refuses)."""
        return self._transaction

    def settled(self) -> _Settled:
        """:meth:`transaction`, with every due transition applied first: what a control call sees and changes.
        (API reads apply only what they show: a transition nobody observes waits for a look.)"""
        return self._settled

    @contextlib.contextmanager
    def reading(self) -> Iterator[State]:
        """Hold the engine to read it (a read changes nothing, so nothing is committed)."""
        with self.lock:
            yield self.state

    def _commit(self, saver: Saver) -> None:
        try:
            saver.commit(self.state)
        except Exception as error:
            logger.exception("mh-mock could not save its state; rolling back to the last saved state")
            try:
                self._adopt(saver.load(self.base_config, self._changed))
            except Exception:
                self._broken = f"mh-mock cannot read its state file any more ({error}); restart it"
                logger.exception("mh-mock could not reload its state file; refusing every call from now on")
            raise Unavailable(
                f"mh-mock could not save this change ({error}); nothing was changed, try again"
            ) from error

    def _changed(self, table: str, key: str, removed: bool) -> None:
        if self._saver is not None:
            self._saver.changed(table, key, removed)

    def subscribe(self, listener: TransitionListener) -> Callable[[], None]:
        """Call ``listener(project, transition)`` on every status change from now on, each when it is due;
        returns the unsubscriber."""
        with self.settled():  # (what was due before it listened, nobody observed: it is not news to it)
            unsubscribe = self.transitions.subscribe(listener)

        def leave() -> None:
            with self.settled():  # (what fell due while it listened is its news)
                unsubscribe()

        return leave

    def _queue_webhooks(self, project: Project, transition: Transition) -> None:
        state = self.state
        if state.hub.endpoints:
            tenant = state.tenant(project.owner).key
            state.hub.on_transition(project, transition, state.project_body(project), tenant)

    # ------------------------------------------------------------------ reset

    def reset(self, *, seed_policy: SeedPolicy = TRUSTED, **options: Any) -> None:
        """Forget everything (accounts, projects, uploads, journal, controls); restart ids and clocks.

        ``options`` override the base :class:`Config` until the next reset (a misspelt one is a
        TypeError naming the valid ones). A seed's ``config`` fills in options nobody gave
        explicitly. The new state is built aside, then swapped in: if anything is wrong, nothing
        changes, and requests go on while a large seed loads. ``seed_policy`` limits where a
        ``preload`` given here may be read from (the admin API allows bundled seeds only).
        """
        check_option_names(options)
        fixed = sorted(HTTP_FIXED_OPTIONS & set(options))
        if fixed:
            raise ConfigError(f"{', '.join(fixed)} cannot change after the fake is created")
        config = self.base_config.replace(**options) if options else self.base_config
        seed = None
        if config.preload is not None:
            seed = load_seed(config.preload, seed_policy if "preload" in options else TRUSTED)
            if seed.get("config"):
                config = config.under(seed["config"])
        state = State(config, clock=self._clock, changed=self._changed)
        state.seed_options = dict(seed.get("config", {})) if seed is not None else {}
        staging = _Staging(state)
        if config.failure_ratio:
            Simulation(staging).set_random_failures(config.failure_ratio)
        for token, credits in config.accounts.items():
            Accounts(staging).add_account(token, credits)
        if seed is not None:
            apply_seed(staging, seed)
        with self.lock:
            previous = getattr(self, "state", None)
            try:
                self._install(state)
            except Exception as error:
                if previous is None:
                    raise
                self.state = previous
                raise Unavailable(f"mh-mock could not save the reset ({error}); nothing was changed") from error
            self.journal = Journal(config.journal_limit)

    def _adopt(self, state: State) -> None:
        """Make ``state`` the live one: numbered, publishing to the engine's stream."""
        self._generations += 1
        state.generation = self._generations
        state.publish = self.transitions.publish
        state.watched = self.transitions.watched
        self.state = state

    def _install(self, state: State) -> None:
        self._adopt(state)
        if self._saver is not None:
            self._saver.replace_all(state)
            self._broken = None

    # ------------------------------------------------------------------ time

    def tick(self, budget: int | None = None) -> bool:
        """Apply the clock transitions that are due (``budget``: at most that many) if anyone observes them
        as they happen (webhooks, subscribers; otherwise each waits for a call that looks at it), and forget
        namespaces whose lease ran out (the standalone server calls this ten times a second); True when none
        is left."""
        with self.transaction() as state:
            settled = state.settle(budget) if state.observed() else True
            for key in state.expire_tenants():
                logger.info("mh-mock forgets a namespace: no call for %s s", state.tenants[key].lease)
                self.accounts.remove_tenant(key)
                self.journal.forget(key)
            return settled

    def close(self) -> None:
        """Release the state file (a final checkpoint), if there is one."""
        if self._saver is not None:
            with self.lock:
                self._saver.close()

    def describe_options(self) -> Mapping[str, Any]:
        """The options in force, as JSON."""
        return self.config.to_json()


class _Transaction:
    """:meth:`Engine.transaction`: one per engine, reentrant (its depth changes only under the engine's lock)."""

    __slots__ = ("_depth", "_engine")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._depth = 0

    def __enter__(self) -> State:
        engine = self._engine
        engine.lock.acquire()
        if engine._broken is not None:
            engine.lock.release()
            raise Unavailable(engine._broken)
        self._depth += 1
        return engine.state

    def __exit__(self, *_: object) -> None:
        engine = self._engine
        try:
            self._depth -= 1
            if self._depth == 0 and engine._saver is not None:
                engine._commit(engine._saver)
        finally:
            engine.lock.release()


class _Settled:
    """:meth:`Engine.settled`: the engine's transaction, entered with every due transition applied."""

    __slots__ = ("_transaction",)

    def __init__(self, transaction: _Transaction) -> None:
        self._transaction = transaction

    def __enter__(self) -> State:
        state = self._transaction.__enter__()
        try:
            state.settle()
        except BaseException:
            self._transaction.__exit__()
            raise
        return state

    def __exit__(self, *_: object) -> None:
        self._transaction.__exit__()
