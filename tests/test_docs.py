"""The docs cannot drift: generated tables are current, everything a user can reach is documented,
local links resolve, and the README stays an index page."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from mh_mock import reference
from mh_mock.cli import build_parser
from mh_mock.config import Config
from mh_mock.control.operations import OPERATIONS
from mh_mock.control.remote import Control
from mh_mock.fault_kinds import FAULT_KINDS
from mh_mock.vendor import JOBS, ROUTES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
README = ROOT / "README.md"
TEXT = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)


def test_the_generated_tables_are_current() -> None:
    stale = [str(page.relative_to(ROOT)) for page in reference.stale(DOCS)]
    assert not stale, f"stale: {stale}; run .venv/bin/python -m mh_mock.reference --write"


def test_every_table_the_generator_knows_is_on_a_page() -> None:
    used = set(re.findall(r"^<!-- generated: ([\w-]+) -->$", TEXT, re.M))
    assert used == set(reference.BLOCKS), set(reference.BLOCKS) ^ used


def test_the_check_command_says_which_pages_are_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n<!-- generated: routes -->\nold\n<!-- /generated -->\n", encoding="utf-8")
    assert reference.main(["--check", "--docs", str(tmp_path)]) == 1
    assert str(page) in capsys.readouterr().err
    assert reference.main(["--write", "--docs", str(tmp_path)]) == 0
    assert reference.main(["--check", "--docs", str(tmp_path)]) == 0
    assert "`storage.download`" in page.read_text(encoding="utf-8")


def _serve_flags() -> list[str]:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    serve = commands.choices["serve"]
    return [flag for action in serve._actions for flag in action.option_strings if flag.startswith("--")]


def test_the_docs_name_every_option_method_command_flag_fault_kind_and_job() -> None:
    """Every Config field, control method, CLI command, serve flag, fault kind, vendor job and route a user
    can reach is in docs/."""
    missing = [f"Config.{f.name}" for f in dataclasses.fields(Config) if f"`{f.name}`" not in TEXT]
    methods = [name for name in dir(Control) if not name.startswith("_") and name != "scope"]
    missing += [f"Control.{name}" for name in methods if f"`{name}" not in TEXT]
    missing += [f"mh-mock {op.command}" for op in OPERATIONS if op.command and f"`mh-mock {op.command}" not in TEXT]
    missing += [flag for flag in _serve_flags() if flag != "--help" and f"`{flag}" not in TEXT]
    missing += [f"fault {kind}" for kind in FAULT_KINDS if f"`{kind}`" not in TEXT]
    missing += [f"job {job.endpoint}" for job in JOBS.values() if f"`{job.endpoint}`" not in TEXT]
    missing += [f"route {route.name}" for route in ROUTES if f"`{route.name}`" not in TEXT]
    for name in ("magic-hour-event-signature", "magic-hour-event-timestamp", "verify_request", "deliveries()"):
        if name not in TEXT:
            missing.append(name)
    assert not missing, missing


def test_the_readme_is_an_index_page_of_at_most_250_lines() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert "849" not in text, "a mutation score belongs nowhere without its method and date"


def _slug(heading: str) -> str:
    """The anchor a code host gives a heading (GitHub's rule)."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda page: str(page.relative_to(ROOT)))
def test_local_links_resolve(page: Path) -> None:
    broken = []
    for link in _links(page):
        if re.match(r"[a-z]+:", link):
            continue  # http(s), mailto: not local
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        missing_anchor = bool(anchor) and path.suffix == ".md" and path.exists() and anchor not in _anchors(path)
        if not path.exists() or missing_anchor:
            broken.append(link)
    assert not broken, broken
