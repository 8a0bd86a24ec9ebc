"""Options declared once: a dataclass field carries its default, JSON Schema, help and command-line flag.

:class:`~mh_mock.config.Config` (the engine's options) and
:class:`~mh_mock.standalone.options.ServeOptions` (the server's) declare every option with
:func:`option`; the validators, the ``mh-mock serve`` flags, the ``--help`` texts and the
reference tables under ``docs/`` are derived from these declarations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["OptionSpec", "declared", "option"]


@dataclass(frozen=True)
class OptionSpec:
    """What is declared about one option besides its name and default."""

    schema: Mapping[str, Any]
    """JSON Schema of its value (as JSON: what the admin API, seeds and the state file carry)."""
    help: str
    """One sentence: what it does."""
    flag: str | None = ""
    """Its ``mh-mock serve`` flag: ``""`` for ``--name-with-dashes``, None for none."""
    metavar: str | None = None
    env: str | None = None
    """An environment variable the flag defaults to."""
    secret: bool = False
    """Also readable from a file (``--<flag>-file PATH``), so it need not appear in ``ps``."""
    per_tenant: bool = False
    """Each namespace of a shared server may set it for its own tokens."""
    server_hint: str = ""
    """For an option a namespace may not set: what to do instead."""
    shown_default: str | None = None
    """The default as documented, where the value itself does not say it well."""


def option(default: Any = dataclasses.MISSING, *, factory: Callable[[], Any] | None = None, **spec: Any) -> Any:
    """A dataclass field declaring an option (``spec``: the fields of :class:`OptionSpec`)."""
    metadata = {"option": OptionSpec(**spec)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Declared:
    """One declared option of a dataclass: its name, default and :class:`OptionSpec`."""

    name: str
    default: Any
    spec: OptionSpec

    @property
    def flag(self) -> str | None:
        """The command-line flag, or None."""
        if self.spec.flag is None:
            return None
        return self.spec.flag or "--" + self.name.replace("_", "-")


def declared(cls: type) -> Iterator[Declared]:
    """Every option ``cls`` declares, in declaration order."""
    for item in dataclasses.fields(cls):
        spec = item.metadata.get("option")
        if spec is None:
            continue
        if item.default is not dataclasses.MISSING:
            default = item.default
        elif item.default_factory is not dataclasses.MISSING:
            default = item.default_factory()
        else:
            default = None
        yield Declared(item.name, default, spec)


def schemas(cls: type) -> Mapping[str, Mapping[str, Any]]:
    """The JSON Schema of every option ``cls`` declares."""
    return {item.name: item.spec.schema for item in declared(cls)}
