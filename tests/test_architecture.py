"""The architecture holds at run time: one operation table behind every control surface, clean layers
(an engine free of HTTP, cheap imports), no dependency cycle, small modules, one error contract."""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mh_mock.config import Config
from mh_mock.control.admin import admin_routes
from mh_mock.control.operations import ADMIN_PREFIX, OPERATIONS
from mh_mock.control.remote import CONVENIENCES, Control
from mh_mock.engine import Engine
from mh_mock.errors import ConfigError, NotFound
from mh_mock.standalone.threaded import LiveServer

PACKAGE = Path(__file__).resolve().parents[1] / "mh_mock"


# ---------------------------------------------------------------------------- one declaration per operation


def test_every_operation_is_an_admin_route_and_nothing_else_is() -> None:
    routes = {route.name: route for route in admin_routes()}
    assert set(routes) == {f"admin.{op.name}" for op in OPERATIONS}
    for op in OPERATIONS:
        route = routes[f"admin.{op.name}"]
        assert (route.method, route.path, route.body_schema) == (op.method, ADMIN_PREFIX + op.path, op.body_schema)


def test_the_served_document_describes_every_operations_body_with_its_properties(live_server: LiveServer) -> None:
    document = httpx.get(f"{live_server.url}/openapi.json").json()
    for op in OPERATIONS:
        operation = document["paths"][ADMIN_PREFIX + op.path][op.method.lower()]
        assert operation["summary"] == op.summary
        if op.body:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert set(schema["properties"]) == set(op.body), op.name
        else:
            assert "requestBody" not in operation, op.name
        queried = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert queried == set(op.query), op.name


def test_the_control_client_has_one_typed_method_per_operation() -> None:
    public = {name for name in dir(Control) if not name.startswith("_")}
    operations = {op.name for op in OPERATIONS}
    assert operations <= public, operations - public
    assert public - operations == set(CONVENIENCES) | {"scope"}
    for op in OPERATIONS:
        member = inspect.getattr_static(Control, op.name)
        source = inspect.getsource(member.fget if isinstance(member, property) else member)
        assert f'self.call("{op.name}"' in source, op.name  # each method is that operation


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


def test_no_module_is_long_and_no_function_is_complex() -> None:
    radon = pytest.importorskip("radon.complexity")
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text()
        assert len(source.splitlines()) <= 420, f"{path.name} has {len(source.splitlines())} lines"
        worst = [block for block in radon.cc_visit(source) if block.complexity > 20]  # grade C at most
        assert not worst, [(path.name, block.name, block.complexity) for block in worst]


# ---------------------------------------------------------------------------- one error contract


def test_the_engine_raises_its_own_errors_naming_what_is_wrong() -> None:
    engine = Engine(Config())
    with pytest.raises(NotFound, match="No project 'nope'"):
        engine.controls.finish("nope")
    with pytest.raises(NotFound, match="No fault 'fault-9'"):
        engine.controls.remove_fault("fault-9")
    with pytest.raises(NotFound, match="No webhook endpoint 'webhook-9'"):
        engine.controls.remove_webhook("webhook-9")
    with pytest.raises(ConfigError, match="progression must be one of clock, poll, got 'fast'"):
        engine.controls.set_progression("fast")
    with pytest.raises(ConfigError, match="status must be one of rendering, complete, error, canceled"):
        engine.controls.force(engine.api.create_voice("t", prompt="a", voice_name="x").id, "done")
