"""The options of the ``@pytest.mark.mh_mock(...)`` marker: keyword-only, typos rejected."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["PLUGIN_OPTIONS", "MarkerOptions", "collect"]


@dataclass(frozen=True)
class MarkerOptions:
    """What the marker sets: engine options (any ``mh_mock.Config`` field) and plugin options."""

    config: Mapping[str, Any] = field(default_factory=dict)
    sdk_poll_interval: str | None = "0"
    """Value of ``MAGIC_HOUR_POLL_INTERVAL`` while the fake is active; None leaves it alone."""
    share_ssl_context: bool = True
    """Let default httpx clients share one SSL context while the fake is active."""
    passthrough_hosts: tuple[str, ...] = ()
    """In-process: hosts whose requests reach the network instead of being refused (a live webhook receiver)."""


PLUGIN_OPTIONS = tuple(f.name for f in fields(MarkerOptions) if f.name != "config")


def collect(markers: Iterable[Any]) -> MarkerOptions:
    """Merge ``mh_mock`` markers, closest first (test over class over module); validate names."""
    from mh_mock.config import Config

    merged: dict[str, Any] = {}
    for marker in markers:
        if marker.args:
            raise TypeError(f"@pytest.mark.mh_mock takes keyword options only, got positional {marker.args!r}")
        for name, value in marker.kwargs.items():
            merged.setdefault(name, value)
    valid = (*Config.option_names(), *PLUGIN_OPTIONS)
    unknown = sorted(set(merged) - set(valid))
    if unknown:
        raise TypeError(
            f"unknown @pytest.mark.mh_mock option(s) {', '.join(unknown)}; valid options are: {', '.join(valid)}"
        )
    plugin = {name: merged.pop(name) for name in PLUGIN_OPTIONS if name in merged}
    Config().replace(**merged)  # raise now, at setup, for a bad value
    return MarkerOptions(config=merged, **plugin)
