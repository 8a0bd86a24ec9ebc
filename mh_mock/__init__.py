"""mh-mock: a stateful fake of the Magic Hour audio API, in-process (respx) or standalone.

Names are imported lazily, so ``import mh_mock`` (which the pytest plugin triggers in every test
run of an environment) costs almost nothing until something is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "MhMock": "mh_mock.inprocess",
    "Engine": "mh_mock.engine",
    "Config": "mh_mock.config",
    "Outcome": "mh_mock.config",
    "Timing": "mh_mock.config",
    "Endpoint": "mh_mock.vendor",
    "Event": "mh_mock.vocabulary",
    "FaultKind": "mh_mock.fault_kinds",
    "Progression": "mh_mock.vocabulary",
    "RouteName": "mh_mock.vendor",
    "Status": "mh_mock.vocabulary",
    "Clock": "mh_mock.clock",
    "Journal": "mh_mock.journal",
    "Call": "mh_mock.journal",
    "Control": "mh_mock.control.remote",
    "ControlError": "mh_mock.control.remote",
    "RemoteControl": "mh_mock.control.remote",
    "Client": "mh_mock.client",
    "AsyncClient": "mh_mock.client",
    "MagicHourError": "mh_mock.client",
    "LiveServer": "mh_mock.standalone.threaded",
    "create_app": "mh_mock.standalone.app",
}

__all__ = [
    "AsyncClient",
    "Call",
    "Client",
    "Clock",
    "Config",
    "Control",
    "ControlError",
    "Endpoint",
    "Engine",
    "Event",
    "FaultKind",
    "Journal",
    "LiveServer",
    "MagicHourError",
    "MhMock",
    "Outcome",
    "Progression",
    "RemoteControl",
    "RouteName",
    "Status",
    "Timing",
    "create_app",
    "__version__",
]

if TYPE_CHECKING:
    from .client import AsyncClient, Client, MagicHourError
    from .clock import Clock
    from .config import Config, Outcome, Timing
    from .control.remote import Control, ControlError, RemoteControl
    from .engine import Engine
    from .fault_kinds import FaultKind
    from .inprocess import MhMock
    from .journal import Call, Journal
    from .standalone.app import create_app
    from .standalone.threaded import LiveServer
    from .vendor import Endpoint, RouteName
    from .vocabulary import Event, Progression, Status

    __version__: str


def __getattr__(name: str) -> Any:
    if name == "__version__":  # one source: the installed distribution's metadata (pyproject.toml)
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("mh-mock")
        except PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
            return "0+unknown"
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mh_mock' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
