"""The reference tables under ``docs/``, generated from the declarations so they cannot drift.

Each table sits in a page between ``<!-- generated: NAME -->`` and ``<!-- /generated -->``; the
prose around it is written by hand. :data:`BLOCKS` says how each NAME is rendered: the engine's
options (:class:`~mh_mock.config.Config`), ``mh-mock serve``'s flags, the control operations with
their typed methods, admin routes and CLI commands, the fault kinds, the vendor's audio jobs and
routes, the pytest plugin's fixtures and options, and the module map.

``python -m mh_mock.reference --write`` rewrites every block in place; ``--check`` exits 1 and
names the pages whose tables are stale (the test suite runs it).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import inspect
import itertools
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .cli import _shown, build_parser, serve_flags
from .config import TENANT_OPTIONS, Config, to_jsonable
from .control import views
from .control.operations import ADMIN_PREFIX, OPERATIONS, Operation
from .control.remote import Control
from .fault_kinds import FAULT_KINDS, STALL_LIMIT, FaultSpec
from .optionspec import Declared, declared
from .vendor import JOBS, ROUTES

__all__ = ["BLOCKS", "DOCS", "main", "refresh", "stale", "write"]

DOCS = Path(__file__).resolve().parents[1] / "docs"
"""The pages (in a checkout: ``docs/`` beside the package)."""

_BLOCK = re.compile(r"^(<!-- generated: ([\w-]+) -->\n)(.*?)^(<!-- /generated -->)", re.S | re.M)

# ---------------------------------------------------------------------------- Markdown


def _cell(text: str) -> str:
    """Text for a table cell: pipes escaped, and ``<`` outside code spans (GitHub reads it as HTML)."""
    parts = " ".join(text.split()).replace("|", "\\|").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;") for i, part in enumerate(parts))


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _prose(doc: str | None) -> str:
    """A docstring's first paragraph as Markdown (reST roles and double backquotes made plain)."""
    first = (inspect.cleandoc(doc or "").split("\n\n") or [""])[0]
    first = re.sub(r":[a-z]+:`~?([^`]+)`", lambda m: "`" + m.group(1).rsplit(".", 1)[-1] + "`", first)
    return " ".join(first.replace("``", "`").split())


def _code(value: Any) -> str:
    """A default value as code: strings bare, the rest as Python writes them."""
    value = to_jsonable(value)
    return f"`{value}`" if isinstance(value, str) else f"`{value!r}`"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# ---------------------------------------------------------------------------- engine options


def options_table() -> str:
    """Every :class:`Config` option: default, serve flag, whether a test's namespace may set it, help."""
    rows = []
    for item in declared(Config):
        flag = item.flag and f"`{item.flag}{_metavar(item.spec.metavar, item.spec.schema.get('enum'))}`"
        default = item.spec.shown_default or _code(item.default)
        rows.append((f"`{item.name}`", default, flag or "—", _yes(item.spec.per_tenant), item.spec.help))
    return _table(("option", "default", "`mh-mock serve`", "per test on a shared server", "what it does"), rows)


def _metavar(metavar: Any, choices: Any) -> str:
    """What follows a flag: its metavar, or its choices (``clock|poll``)."""
    if isinstance(metavar, str):
        return f" {metavar}"
    return " " + "|".join(map(str, choices)) if choices else ""


def tenant_table() -> str:
    """The options a test on a shared server may not set, and what to do instead."""
    rows = [
        (f"`{item.name}`", item.spec.server_hint or "it is set when the server starts")
        for item in declared(Config)
        if item.name not in TENANT_OPTIONS
    ]
    return _table(("option", "on a shared server, instead"), rows)


def tenant_options() -> str:
    """The options a test on a shared server may set, as a list."""
    return ", ".join(f"`{name}`" for name in TENANT_OPTIONS) + "."


# ---------------------------------------------------------------------------- mh-mock serve


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _split_default(text: str) -> tuple[str, str | None]:
    """A ``--help`` text and the default it states at its end, if any."""
    found = re.search(r"\s*\(default: (.*)\)$", text)
    if found is None:
        return text, None
    return text[: found.start()], found.group(1)


def _serve_default(item: Declared, shown: str) -> str:
    """The default of a declared serve flag: as declared for documentation, unless the server's profile changes it."""
    profile_changes = item.name in Config.option_names() and shown != _shown(item.default)
    text = item.spec.shown_default if item.spec.shown_default and not profile_changes else _value(shown)
    return f"`${item.spec.env}` or {text}" if item.spec.env else text


def _value(shown: str | None) -> str:
    """A default as ``--help`` states it, as code (``5.0`` as ``5``); "none" as a word."""
    if shown is None or shown == "none":
        return "none"
    return "`" + re.sub(r"^(\d+)\.0$", r"\1", shown) + "`"


def _serve_row(action: argparse.Action, items: Mapping[str, tuple[Declared, str]]) -> tuple[str, ...]:
    metavar = _metavar(action.metavar, action.choices)
    flags = ", ".join(
        f"`{flag}{metavar if flag.startswith('--') and '--no-' not in flag else ''}`" for flag in action.option_strings
    )
    found = items.get(action.dest)
    if found is not None:
        item, shown = found
        sets = f"[`{item.name}`](options.md)" if item.name in Config.option_names() else "the server"
        return flags, _serve_default(item, shown), item.spec.help, sets
    text, default = _split_default(action.help or "")
    return flags, _value(default), text[:1].upper() + text[1:].rstrip(".") + ".", "the server"


def serve_table() -> str:
    """Every ``mh-mock serve`` flag: its default (as ``--help`` states it), what it does, what it sets."""
    items = {item.name: (item, shown) for item, shown in serve_flags()}
    actions = [a for a in _subcommands()["serve"]._actions if a.option_strings and a.dest != "help"]
    rows = [_serve_row(action, items) for action in actions]
    return _table(("flag", "default", "what it does", "sets"), rows)


_BOUND_OPTIONS = (
    "head_timeout",
    "body_timeout",
    "max_connections",
    "max_body_bytes",
    "max_upload_bytes",
    "journal_limit",
    "delivery_log_limit",
    "webhook_timeout",
    "state_timeout",
)
"""The options that bound what a client can make the server hold or wait for."""

_BOUND_CONSTANTS = (
    ("mh_mock.engine.tokens", "MAX_TOKEN_LENGTH", "characters"),
    ("mh_mock.routing.dispatch", "ADMIN_BODY_LIMIT", "bytes"),
    ("mh_mock.routing.dispatch", "JOURNAL_BODY_LIMIT", "bytes"),
    ("mh_mock.blob", "HEAD_BYTES", "bytes"),
    ("mh_mock.standalone.sender", "ANSWER_PREFIX", "bytes"),
    ("mh_mock.vendor", "MAX_AUDIO_SECONDS", "s"),
    ("mh_mock.engine.seeds", "MAX_SEED_BYTES", "bytes"),
    ("mh_mock.fault_kinds", "STALL_LIMIT", "s"),
)
"""Fixed bounds: (module, constant, unit)."""


def _amount(value: float, unit: str) -> str:
    for size, name in ((1 << 20, "MiB"), (1 << 10, "KiB")):
        if unit == "bytes" and value >= size and value % size == 0:
            return f"{value // size:g} {name}"
    return f"{value:g} {unit}"


def bounds_table() -> str:
    """Every bound of the standalone server: the options (flag and default) and the fixed limits."""
    items = {item.name: (item, shown) for item, shown in serve_flags()}
    actions = {a.dest: a for a in _subcommands()["serve"]._actions}
    rows = []
    for name in _BOUND_OPTIONS:
        flag, default, text, _sets = _serve_row(actions[name], items)
        if name.endswith("_bytes"):
            default += f" ({_amount(items[name][0].default, 'bytes')})"
        rows.append((flag, default, text))
    for module, name, unit in _BOUND_CONSTANTS:
        loaded = importlib.import_module(module)
        docs = _docs_below(ast.parse(inspect.getsource(loaded)).body)
        rows.append((f"`{name}` ({module.rsplit('.', 1)[-1]})", _amount(getattr(loaded, name), unit), docs[name]))
    from .standalone.sender import connection_budget

    rows.append(("`connection_budget()` (sender)", "from the descriptor limit", _prose(connection_budget.__doc__)))
    return _table(("bound", "default", "what it bounds"), rows)


# ---------------------------------------------------------------------------- control operations


def _shape(name: str, member: Any) -> str:
    """How a method is called: ``projects(token=None, status=None, *, account=None, limit=None)``."""
    if isinstance(member, property):
        return f"`{name}`"
    parts: list[str] = []
    for param in list(inspect.signature(member).parameters.values())[1:]:
        if param.kind is param.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")
        prefix = "**" if param.kind is param.VAR_KEYWORD else "*" if param.kind is param.VAR_POSITIONAL else ""
        default = "" if param.default is param.empty else f"={param.default!r}"
        parts.append(f"{prefix}{param.name}{default}")
    return f"`{name}({', '.join(parts)})`"


def _answer(member: Any) -> str:
    function = member.fget if isinstance(member, property) else member
    return f"`{function.__annotations__.get('return', 'None')}`"


def _command(op: Operation[Any]) -> str:
    if op.command is None:
        return "—"
    words = [op.command, *(p.upper() for p in op.path_params), *(p.upper() for p in op.positional)]
    return f"`mh-mock {' '.join(words)}`"


def _methods() -> Iterator[tuple[str, Any]]:
    """The public members of :class:`Control`, in the order they are declared."""
    for name, member in vars(Control).items():
        if not name.startswith("_") and (callable(member) or isinstance(member, property)):
            yield name, member


def control_table() -> str:
    """Every method of :class:`Control`: how it is called, its admin route and CLI command, what it answers."""
    by_name = {op.name: op for op in OPERATIONS}
    rows = []
    for name, member in _methods():
        op = by_name.get(name)
        route = f"`{op.method} {ADMIN_PREFIX}{op.path}`" if op else "—"
        summary = op.summary if op else _prose(member.__doc__)
        command = _command(op) if op else "—"
        rows.append((_shape(name, member), route, command, _answer(member), summary))
    return _table(("method", "admin route", "CLI", "answers", "what it does"), rows)


def views_table() -> str:
    """What the control methods answer: each view of :mod:`mh_mock.control.views` and its fields."""
    rows = []
    for name in views.__all__:
        view = getattr(views, name)
        if name.endswith("View"):
            fields = ", ".join(f"`{field}`" for field in view.__annotations__)
            rows.append((f"`{name}`", fields, _prose(view.__doc__)))
    return _table(("view", "fields", "what it is"), rows)


def fault_targets_table() -> str:
    """The fields of ``add_fault`` that choose which calls a fault strikes."""
    op = next(op for op in OPERATIONS if op.name == "add_fault")
    kind_fields = {name for spec in FAULT_KINDS.values() for name in spec.fields} | set(op.required)
    rows = [
        (f"`{name}`", schema.get("description", ""))
        for name, schema in op.body_fields.items()
        if name not in kind_fields
    ]
    return _table(("field", "what it does"), rows)


# ---------------------------------------------------------------------------- fault kinds


def _seen(spec: FaultSpec) -> str:
    """What a client sees when a fault of this kind strikes."""
    defaults = {name: field.default for name, field in spec.fields.items()}
    if spec.answer is not None:
        choices = [
            {**defaults, name: value} for name, field in spec.fields.items() for value in field.schema.get("enum", ())
        ] or [defaults]
        shown = []
        for values in choices:
            status, body, headers = spec.answer(values)
            shown.append(f"HTTP {status} `{body['code']}`" + "".join(f" with `{h}`" for h in headers))
        return ", or ".join(shown)
    wait = ""
    if spec.delay is not None and defaults.get(spec.delay) is None:
        wait = (
            f"a stall until the client's read timeout (`ReadTimeout`; at most {STALL_LIMIT:g} s); "
            f"with `{spec.delay}`, after them: "
        )
    elif spec.delay is not None:
        wait = f"after `{spec.delay}`: "
    if spec.drops is None:
        return wait + "the engine's answer"
    name, message = spec.drops
    return wait + f'the connection {"is refused" if spec.refuses else "is dropped"}: `{name}` ("{message}")'


def faults_table() -> str:
    """Every fault kind: its fields with their defaults, whether ``after`` applies, what a client sees."""
    rows = []
    for spec in FAULT_KINDS.values():
        fields = "; ".join(
            f"`{name}` (default `{field.default!r}`): {field.description}" for name, field in spec.fields.items()
        )
        rows.append((f"`{spec.kind}`", spec.summary, fields or "—", _yes(spec.after_allowed), _seen(spec)))
    return _table(("kind", "does", "fields", "`after=True`", "what a client sees"), rows)


# ---------------------------------------------------------------------------- vendor


def jobs_table() -> str:
    """Every kind of audio job: endpoint, route, contract operation, charge, timing, its own fields."""
    rows = []
    for job in JOBS.values():
        fields = ", ".join(f"`{name}` (default `{field.default!r}`)" for name, field in job.fields.items())
        rows.append(
            (
                f"`{job.endpoint}`",
                f"`POST {job.path}`",
                f"`{job.operation_id}`",
                f"`{job.route}`",
                job.priced,
                job.lasts,
                f"{job.queued:g} s + {job.rendering:g} s",
                fields,
            )
        )
    header = (
        "endpoint",
        "route",
        "operationId",
        "route name",
        "charge",
        "audio length",
        "timing",
        "fields",
    )
    return _table(header, rows)


def routes_table() -> str:
    """Every vendor and storage route the fake serves, by name."""
    rows = [
        (f"`{route.name}`", f"`{route.method} {route.path}`", "storage" if route.storage else "API", route.summary)
        for route in ROUTES
    ]
    return _table(("route name", "route", "host", "what it is"), rows)


# ---------------------------------------------------------------------------- pytest plugin


def _plugin(module: str = "") -> Any:
    """The pytest plugin (or one of its modules), imported by name: it is a package of its own in a checkout."""
    return importlib.import_module("mh_mock.pytest_plugin" + (f".{module}" if module else ""))


def fixtures_table() -> str:
    """Every public fixture of the plugin, with its docstring's first paragraph."""
    rows = [
        (f"`{name}`", _prose(value.__doc__))
        for name, value in vars(_plugin()).items()
        if type(value).__name__ == "FixtureFunctionDefinition" and not name.startswith("_")
    ]
    return _table(("fixture", "what it is"), rows)


def _docs_below(body: list[ast.stmt]) -> dict[str, str]:
    """The docstrings written under assignments (``x: int = 1`` then a string), by name."""
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            docs[target.id] = _prose(str(after.value.value))
    return docs


def _attribute_docs(cls: type) -> dict[str, str]:
    """The docstrings written under a class's attributes."""
    node = ast.parse(inspect.cleandoc(inspect.getsource(cls))).body[0]
    assert isinstance(node, ast.ClassDef)
    return _docs_below(node.body)


def marker_table() -> str:
    """The marker's own options (besides every :class:`Config` option)."""
    options = _plugin("options")
    docs = _attribute_docs(options.MarkerOptions)
    defaults = options.MarkerOptions()
    rows = [(f"`{name}`", _code(getattr(defaults, name)), docs.get(name, "")) for name in options.PLUGIN_OPTIONS]
    return _table(("option", "default", "what it does"), rows)


class _Options:
    """Records what ``pytest_addoption`` adds (a stand-in for pytest's parser and its group)."""

    def __init__(self) -> None:
        self.added: list[tuple[tuple[str, ...], dict[str, Any]]] = []

    def getgroup(self, *args: Any, **kwargs: Any) -> _Options:
        return self

    def addoption(self, *names: str, **keywords: Any) -> None:
        self.added.append((names, keywords))


def pytest_options_table() -> str:
    """The plugin's command-line options."""
    recorder = _Options()
    _plugin().pytest_addoption(recorder)
    rows = []
    for names, keywords in recorder.added:
        metavar = f" {keywords['metavar']}" if "metavar" in keywords else ""
        text, default = _split_default(keywords.get("help", ""))
        default = default or (None if keywords.get("default") is None else str(keywords["default"]))
        rows.append((", ".join(f"`{name}{metavar}`" for name in names), _value(default), text))
    return _table(("option", "default", "what it does"), rows)


# ---------------------------------------------------------------------------- the module map


def _modules() -> dict[str, Path]:
    """Every module of the package, its plugin and its fixtures, by name."""
    found: dict[str, Path] = {}
    for package in ("mh_mock", "mh_mock.pytest_plugin", "mh_mock.fixtures"):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found.setdefault(name, path)
    return dict(sorted(found.items()))


def modules_table() -> str:
    """Every module with its docstring's first paragraph."""
    rows = []
    for name, path in _modules().items():
        rows.append((f"`{name}`", _prose(ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))))))
    return _table(("module", "what it holds"), rows)


# ---------------------------------------------------------------------------- pages

BLOCKS: Mapping[str, Callable[[], str]] = {
    "options": options_table,
    "tenant-options": tenant_options,
    "server-wide-options": tenant_table,
    "serve": serve_table,
    "bounds": bounds_table,
    "control": control_table,
    "views": views_table,
    "fault-targets": fault_targets_table,
    "faults": faults_table,
    "jobs": jobs_table,
    "routes": routes_table,
    "fixtures": fixtures_table,
    "marker": marker_table,
    "pytest-options": pytest_options_table,
    "modules": modules_table,
}
"""How each generated block is rendered, by the name its marker gives."""


def refresh(text: str) -> str:
    """``text`` with every generated block rendered afresh (a KeyError names an unknown block)."""
    rendered: dict[str, str] = {}

    def render(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in rendered:
            rendered[name] = BLOCKS[name]()
        return f"{match.group(1)}\n{rendered[name]}\n\n{match.group(4)}"  # blank lines: plain Markdown around

    return _BLOCK.sub(render, text)


def _pages(docs: Path) -> list[Path]:
    return sorted(path for path in docs.rglob("*.md") if _BLOCK.search(path.read_text(encoding="utf-8")))


def stale(docs: Path = DOCS) -> list[Path]:
    """The pages under ``docs`` whose generated blocks differ from what the declarations give now."""
    return [page for page in _pages(docs) if refresh(text := page.read_text(encoding="utf-8")) != text]


def write(docs: Path = DOCS) -> list[Path]:
    """Rewrite every stale page under ``docs``; returns them."""
    pages = stale(docs)
    for page in pages:
        page.write_text(refresh(page.read_text(encoding="utf-8")), encoding="utf-8")
    return pages


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mh_mock.reference --write | --check [--docs DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m mh_mock.reference", description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the generated tables in place")
    action.add_argument("--check", action="store_true", help="exit 1 if a generated table is stale")
    parser.add_argument("--docs", type=Path, default=DOCS, help="the pages' directory (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.write:
        for page in write(args.docs):
            print(f"rewrote {page}")
        return 0
    pages = stale(args.docs)
    for page in pages:
        print(f"stale: {page} (run python -m mh_mock.reference --write)", file=sys.stderr)
    return 1 if pages else 0


if __name__ == "__main__":
    sys.exit(main())
