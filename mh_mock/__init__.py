"""mh-mock: a stateful fake of the Magic Hour audio API, in-process (respx) or standalone.

Names are imported lazily, so ``import mh_mock`` (which the pytest plugin triggers in every test
run of an environment) costs almost nothing until something is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "MhMock": "mh_mock.mock",
    "Engine": "mh_mock.engine",
    "Config": "mh_mock.config",
    "Endpoint": "mh_mock.config",
    "Outcome": "mh_mock.config",
    "Progression": "mh_mock.config",
    "Timing": "mh_mock.config",
    "Clock": "mh_mock.clock",
    "Journal": "mh_mock.journal",
    "Call": "mh_mock.journal",
    "Control": "mh_mock.control",
    "ControlError": "mh_mock.control",
    "RemoteControl": "mh_mock.control",
    "Client": "mh_mock.client",
    "AsyncClient": "mh_mock.client",
    "MagicHourError": "mh_mock.client",
    "create_app": "mh_mock.server",
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
    "Journal",
    "MagicHourError",
    "MhMock",
    "Outcome",
    "Progression",
    "RemoteControl",
    "Timing",
    "create_app",
    "__version__",
]

if TYPE_CHECKING:
    from .client import AsyncClient, Client, MagicHourError
    from .clock import Clock
    from .config import Config, Endpoint, Outcome, Progression, Timing
    from .control import Control, ControlError, RemoteControl
    from .engine import Engine
    from .journal import Call, Journal
    from .mock import MhMock
    from .server import create_app


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mh_mock' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
