"""The architecture holds at run time: one declaration per operation, vendor job and fault kind, typed
control results, clean layers (an engine free of HTTP, cheap imports, no cycle between modules or
packages), the formatter owning layout, simple functions, one error contract."""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import mh_mock.control.operations as declared_operations
from mh_mock.config import Config
from mh_mock.control.admin import admin_routes
from mh_mock.control.handlers import OpContext
from mh_mock.control.operations import ADMIN_PREFIX, OPERATIONS, Operation
from mh_mock.control.remote import CONVENIENCES, Control
from mh_mock.engine import Engine
from mh_mock.engine.seeds import TRUSTED
from mh_mock.errors import ConfigError, NotFound
from mh_mock.fault_kinds import FAULT_KINDS, FaultKind
from mh_mock.standalone.threaded import LiveServer
from mh_mock.vendor import JOBS, AudioJob

PACKAGE = Path(__file__).resolve().parents[1] / "mh_mock"
PLUGIN = PACKAGE.parent / "pytest_plugin"


# ---------------------------------------------------------------------------- one declaration per operation


def test_every_operation_is_an_admin_route_and_nothing_else_is() -> None:
    context = OpContext(Engine(), seed_policy=TRUSTED, deliver_now=lambda: None)
    routes = {route.name: route for route in admin_routes(context)}
    assert set(routes) == {f"admin.{op.name}" for op in OPERATIONS}
    for op in OPERATIONS:
        route = routes[f"admin.{op.name}"]
        assert (route.method, route.path, route.body_schema) == (op.method, ADMIN_PREFIX + op.path, op.body_schema)


def test_the_served_document_describes_every_operations_body_with_its_properties(live_server: LiveServer) -> None:
    document = httpx.get(f"{live_server.url}/openapi.json").json()
    for op in OPERATIONS:
        operation = document["paths"][ADMIN_PREFIX + op.path][op.method.lower()]
        assert operation["summary"] == op.summary
        if op.body_fields:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert set(schema["properties"]) == set(op.body_fields), op.name
        else:
            assert "requestBody" not in operation, op.name
        queried = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert queried == set(op.query_fields), op.name


def test_the_control_client_has_one_typed_method_per_operation() -> None:
    public = {name for name in dir(Control) if not name.startswith("_")}
    operations = {op.name for op in OPERATIONS}
    assert operations <= public, operations - public
    assert public - operations == set(CONVENIENCES) | {"scope"}
    constants = {op.name: name for name, op in vars(declared_operations).items() if isinstance(op, Operation)}
    for op in OPERATIONS:
        member = inspect.getattr_static(Control, op.name)
        method = member.fget if isinstance(member, property) else member
        assert f"self._run(ops.{constants[op.name]}" in inspect.getsource(method), op.name  # it runs that operation
        # ... and answers what the operation's function answers (mypy checks the rest)
        answer = op.call.__annotations__["return"]
        assert method.__annotations__["return"] in (answer, "Journal" if answer == "list[CallView]" else answer), (
            op.name
        )


# ---------------------------------------------------------------------------- layers


def _loaded(code: str) -> set[str]:
    """Top-level packages, and mh_mock's own modules, that running ``code`` imports."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    modules = json.loads(done.stdout.splitlines()[-1])
    return {name.split(".")[0] for name in modules} | {name for name in modules if name.startswith("mh_mock.")}


def test_the_remote_control_imports_nothing_heavy() -> None:
    loaded = _loaded("from mh_mock import RemoteControl")
    assert not loaded & {"jsonschema", "jsonschema_rs", "sqlite3", "starlette", "uvicorn", "respx", "httpx", "fcntl"}


def test_the_engine_imports_no_http_stack() -> None:
    loaded = _loaded("import mh_mock.engine; mh_mock.engine.Engine()")
    assert not loaded & {"httpx", "httpcore", "respx", "starlette", "uvicorn", "sqlite3", "fcntl"}


def test_the_in_process_fake_needs_no_posix_only_module() -> None:
    """The state file's lock (fcntl) is imported only with persistence: the fake itself runs on Windows."""
    loaded = _loaded("import mh_mock; from mh_mock import MhMock; MhMock().start().stop()")
    assert not loaded & {"mh_mock.engine.store", "mh_mock.engine.persistence", "sqlite3", "uvicorn", "starlette"}
    for path in PACKAGE.rglob("*.py"):  # and no module imports fcntl at its top level
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        assert not [n for n in top if "fcntl" in ast.unparse(n)], path.name


def _imports(path: Path) -> set[str]:
    """Every mh_mock module ``path`` imports, at any depth of the file (type-only and lazy ones too)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if (PACKAGE.parent / target.replace(".", "/")).with_suffix(".py").exists() else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("mh_mock") and name != module}


def test_there_is_no_import_cycle_not_even_a_type_only_one() -> None:
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        graph[name] = {target.removesuffix(".__init__") for target in _imports(path)}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        for target in graph.get(node, ()):
            if target in trail:
                cycles.append([*trail[trail.index(target) :], target])
            elif target in graph and len(trail) < 30:
                visit(target, [*trail, target])

    for start in graph:
        visit(start, [start])
    # a package importing its own submodules (its __init__ re-exporting them) is not a cycle
    real = [c for c in cycles if not any(b.startswith(a + ".") for a, b in itertools.pairwise(c))]
    assert not real, real[:3]


def test_routing_and_control_do_not_import_each_other_both_ways() -> None:
    """Packages are layers: no package imports another that imports it back (not even type-only)."""
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    uses: dict[str, set[str]] = {package: set() for package in packages}
    for path in PACKAGE.rglob("*.py"):
        here = path.relative_to(PACKAGE).parts[0]
        if here in packages:
            uses[here] |= {name.split(".")[1] for name in _imports(path) if name.count(".") >= 1} & packages - {here}
    both_ways = sorted((a, b) for a in uses for b in uses[a] if a in uses.get(b, set()))
    assert not both_ways, both_ways


def test_no_function_is_complex() -> None:
    radon = pytest.importorskip("radon.complexity")
    for path in PACKAGE.rglob("*.py"):
        worst = [block for block in radon.cc_visit(path.read_text()) if block.complexity > 20]  # grade C at most
        assert not worst, [(path.name, block.name, block.complexity) for block in worst]


def test_the_formatter_owns_layout_and_types_are_checked_not_waived() -> None:
    sources = [path.read_text() for root in (PACKAGE, PLUGIN) for path in root.rglob("*.py")]
    assert sum(len(re.findall(r"# fmt: (?:skip|off)", text)) for text in sources) <= 5
    assert sum(text.count("# type: ignore") for text in sources) <= 10


def _modules_naming(patterns: list[str]) -> set[str]:
    """Modules (and dashboard scripts) under mh_mock/ and pytest_plugin/ whose text matches any pattern."""
    found = set()
    for root in (PACKAGE, PLUGIN):
        for path in root.rglob("*"):
            if path.suffix in (".py", ".js", ".html") and "swagger-ui" not in path.parts:
                text = path.read_text()
                if any(re.search(pattern, text) for pattern in patterns):
                    found.add(str(path.relative_to(PACKAGE.parent)))
    return found


@pytest.mark.parametrize("job", list(JOBS.values()), ids=lambda job: job.endpoint.value)
def test_a_kind_of_audio_job_is_named_in_three_modules_at_most(job: AudioJob) -> None:
    """Its declaration, the engine function of its own behaviour, the reference client's typed method."""
    name = job.endpoint.value
    patterns = [
        rf"[\"']{name}[\"']",
        re.escape(job.route.value),
        re.escape(job.path),
        re.escape(job.operation_id),
        rf"\b{name.upper()}(_CREATE)?\b",
    ]
    named = _modules_naming(patterns)
    assert "mh_mock/vendor.py" in named and len(named) <= 3, sorted(named)


@pytest.mark.parametrize("kind", list(FAULT_KINDS), ids=str)
def test_a_fault_kind_is_named_in_one_module(kind: FaultKind) -> None:
    """Its declaration: the engine's rules, the dispatcher and both adapters look it up."""
    value = kind.value
    patterns = [rf"\bFaultKind\.{value.upper()}\b", rf"kind\W{{1,4}}[\"']{value}[\"']"]
    if value not in ("reset", "timeout"):  # (words of other meanings: the reset operation, timeouts)
        patterns.append(rf"[\"']{value}[\"']")
    assert _modules_naming(patterns) == {"mh_mock/fault_kinds.py"}


# ---------------------------------------------------------------------------- one error contract


def test_the_engine_raises_its_own_errors_naming_what_is_wrong() -> None:
    engine = Engine(Config())
    with pytest.raises(NotFound, match="No project 'nope'"):
        engine.controls.finish("nope")
    with pytest.raises(NotFound, match="No fault 'fault-9'"):
        engine.simulation.remove_fault("fault-9")
    with pytest.raises(NotFound, match="No webhook endpoint 'webhook-9'"):
        engine.webhooks.remove("webhook-9")
    with pytest.raises(ConfigError, match="progression must be one of clock, poll, got 'fast'"):
        engine.controls.set_progression("fast")
    with pytest.raises(ConfigError, match="status must be one of rendering, complete, error, canceled"):
        engine.controls.force(engine.api.create("t", "voice_generator", prompt="a", voice_name="x").id, "done")
