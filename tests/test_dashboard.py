"""The dashboard (``/``) and the API reference (``/docs``): served with strict headers, and used in a
real browser (Debian's Chromium driven by Playwright) against a live server.

Browser tests are marked slow (CI runs them with ``-m slow``) and skip only when
``/usr/bin/chromium`` is missing. One browser serves the module; every test gets a fresh context
whose requests are all checked: anything not addressed to the server under test is aborted and
fails the test, as do console errors, page errors and JavaScript dialogs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mh_mock.standalone.dashboard import CONTENT_SECURITY_POLICY, STATIC_DIR
from mh_mock.standalone.threaded import LiveServer, ThreadedServer

from .webhook_receiver import SECRET, Receiver

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
]  # fmt: skip
TOKEN = "mhk_test_dashboard"
XSS = "<img src=x onerror=alert(1)>"
EXPECT_TIMEOUT = 10_000
"""Milliseconds an expectation waits: the page polls every second, so a change shows within ~1-2 s."""

SCREENSHOT_ENV = "MH_MOCK_DASHBOARD_SCREENSHOT"
"""Set to a path to keep the full-page screenshot of the realistic state (docs/dashboard.png)."""


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """A live server with a frozen clock (clock progression): nothing moves unless a test moves it."""
    with LiveServer(frozen_clock=True) as live:
        yield live


@pytest.fixture
def fresh(server: LiveServer) -> LiveServer:
    server.reset()
    return server


def _api(server: LiveServer, token: str = TOKEN) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {token}"}, timeout=10)


def _create(server: LiveServer, name: str | None = None, prompt: str = "Hello there", token: str = TOKEN) -> str:
    body: dict[str, Any] = {"style": {"prompt": prompt, "voice_name": "Elon Musk"}}
    if name is not None:
        body["name"] = name
    with _api(server, token) as http:
        answer = http.post("/v1/ai-voice-generator", json=body)
    assert answer.status_code == 200, answer.text
    project_id: str = answer.json()["id"]
    return project_id


# ------------------------------------------------------------------------------------------ HTTP


def test_pages_are_html_with_strict_headers(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        for path in ("/", "/docs"):
            page = http.get(path)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert page.headers["x-content-type-options"] == "nosniff"
            assert page.headers["referrer-policy"] == "no-referrer"
        policy = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
        for directive in ("default-src", "script-src", "style-src", "connect-src", "media-src"):
            assert policy[directive] == "'self'", directive
        assert policy["frame-ancestors"] == "'none'"
        for asset, kind in [("/dashboard/js/app.js", "javascript"), ("/dashboard/css/dashboard.css", "text/css"),
                            ("/dashboard/swagger-ui/swagger-ui-bundle.js", "javascript"),
                            ("/dashboard/swagger-ui/swagger-ui.css", "text/css")]:  # fmt: skip
            answer = http.get(asset)
            assert answer.status_code == 200 and kind in answer.headers["content-type"], asset
            assert answer.headers["x-content-type-options"] == "nosniff"
        config = http.get("/dashboard/config.json").json()
        assert config == {"url": server.url, "admin_token_required": False, "version": config["version"]}
        assert http.get("/dashboard/nothing-here.js").status_code == 404


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize("page", ["index.html", "docs.html"])
def test_pages_load_nothing_inline_or_foreign(page: str) -> None:
    parser = _Tags()
    parser.feed((STATIC_DIR / page).read_text("utf-8"))
    for tag, attrs in parser.tags:
        assert "style" not in attrs and not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/dashboard/"), attrs  # type: ignore[union-attr]
        if tag in ("link", "img", "audio", "source"):
            for name in ("href", "src"):
                assert not str(attrs.get(name) or "").startswith(("http:", "https:", "//")), attrs
    assert "<style" not in (STATIC_DIR / page).read_text("utf-8")


def test_scripts_never_parse_data_as_html() -> None:
    scripts = sorted((STATIC_DIR / "js").glob("*.js"))
    assert scripts
    for script in scripts:
        text = script.read_text("utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in text, f"{script.name} uses {sink}"
        assert not re.search(r"[\"'`]https?://", text), f"{script.name} names another host"


def test_swagger_ui_is_vendored_unchanged() -> None:
    vendored = STATIC_DIR / "swagger-ui"
    note = (vendored / "VERSION.txt").read_text("utf-8")
    assert re.search(r"swagger-ui-dist 5\.\d+\.\d+", note)
    for digest, name in re.findall(r"^\s+([0-9a-f]{64})\s+(\S+)$", note, re.MULTILINE):
        assert hashlib.sha256((vendored / name).read_bytes()).hexdigest() == digest, name
    assert {p.name for p in vendored.iterdir()} == {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "LICENSE",
        "NOTICE",
        "VERSION.txt",
    }
    assert "validatorUrl: null" in (STATIC_DIR / "js" / "docs.js").read_text("utf-8")


# ---------------------------------------------------------------------------------------- browser


@dataclass
class Watch:
    """What a page did that it should not: requests elsewhere, console errors, page errors, dialogs."""

    allowed: list[str]
    outside: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    tolerated: list[re.Pattern[str]] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)

    def check(self) -> None:
        errors = [e for e in self.console_errors if not any(p.search(e) for p in self.tolerated)]
        assert self.outside == [], f"requests left the server: {self.outside}"
        assert errors == [], f"console errors: {errors}"
        assert self.page_errors == [], f"page errors: {self.page_errors}"
        assert self.dialogs == [], f"dialogs: {self.dialogs}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"the browser tests drive Debian's Chromium at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., tuple[Any, Watch]]]:
    """``open_page(url)``: a new context and page on ``url``, watched (checked after the test)."""
    contexts: list[tuple[Any, Watch]] = []

    def open_(url: str, path: str = "/", width: int = 1400) -> tuple[Any, Watch]:
        context = browser.new_context(viewport={"width": width, "height": 1000}, accept_downloads=True)
        watch = Watch(allowed=[url + "/"])

        def route(route: Any) -> None:
            request = route.request
            watch.requests.append(request)
            if any(request.url.startswith(prefix) for prefix in watch.allowed):
                route.continue_()
            else:
                watch.outside.append(request.url)
                route.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: watch.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
        page.on("dialog", lambda d: (watch.dialogs.append(d.message), d.dismiss()))
        contexts.append((context, watch))
        page.goto(url + path)
        return page, watch

    yield open_
    for context, watch in contexts:
        context.close()
        watch.check()


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _acting(page: Any, path: str, method: str = "POST") -> Any:
    """Wait for the page's admin call to ``path`` (the server has done it when this returns)."""
    return page.expect_response(lambda r: r.request.method == method and r.url.split("?")[0].endswith(path))


def _row(page: Any, table: str, text: str) -> Any:
    return page.locator(f"#{table} tr", has_text=text).first


def _shoot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # the sticky section bar stays at the top of the picture
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.mark.slow
def test_lists_projects_and_shows_new_ones_without_reload(fresh: LiveServer, open_page: Any, tmp_path: Path) -> None:
    expect = _expect()
    first = _create(fresh, name="first one")
    page, _ = open_page(fresh.url)
    expect(_row(page, "projects-table", first)).to_be_visible()
    expect(_row(page, "projects-table", first)).to_contain_text("first one")
    expect(page.locator("#connection")).to_have_text("live")
    page.evaluate("window.__sameDocument = true")
    second = _create(fresh, name="second one")
    expect(_row(page, "projects-table", second)).to_be_visible(timeout=3000)  # the page polls every second
    assert page.evaluate("window.__sameDocument") is True  # no reload
    expect(_row(page, "journal-table", second)).to_contain_text("voice_generator.create")
    _shoot(page, tmp_path, "projects")


@pytest.mark.slow
def test_a_fake_with_many_projects_is_polled_a_page_at_a_time_and_filtered_by_the_server(
    fresh: LiveServer, open_page: Any, tmp_path: Path
) -> None:
    expect = _expect()
    oldest = _create(fresh, name="the oldest", token="mhk_test_old_account")
    for _ in range(1_005):
        fresh.create_project(TOKEN)
    page, watch = open_page(fresh.url)
    summary = page.get_by_role("search", name="Filter projects").locator("p")
    expect(summary).to_have_text("1006 projects (the newest 200 listed)")
    expect(_row(page, "projects-table", oldest)).to_have_count(0)

    old_account = fresh.account("mhk_test_old_account")["id"]
    page.get_by_label("Token / account").select_option(old_account)
    expect(_row(page, "projects-table", oldest)).to_contain_text(
        "the oldest"
    )  # older than the page, found by the server
    expect(summary).to_have_text("1006 projects, 1 shown by the filters")
    _shoot(page, tmp_path, "many-projects")

    queries = [
        parse_qs(urlsplit(r.url).query) for r in watch.requests if urlsplit(r.url).path == "/mh-mock-api/projects"
    ]
    assert queries and all(q.get("limit") == ["1000"] for q in queries)  # never every project
    assert queries[-1].get("account") == [old_account]

    watch.tolerated.append(re.compile("status of 404"))  # the browser logs the refused filter, which the page handles
    fresh.reset()  # the account filtered on is gone: the page drops the filter and carries on
    expect(summary).to_have_text("0 projects")
    expect(page.get_by_label("Token / account")).to_have_value("")
    expect(page.locator("#connection")).to_have_text("live")


ADMIN_BYTES_PER_POLL = 1_500_000
"""The most one admin API answer the dashboard polls may weigh, however much the fake holds."""


@pytest.mark.slow
def test_every_list_the_dashboard_polls_is_bounded(fresh: LiveServer, open_page: Any, tmp_path: Path) -> None:
    """3,000 accounts and 1,500 webhook deliveries: each poll asks for the newest N only, says so, and
    filters deliveries on the server (the whole lists were 7.2 MB a second and froze the tab)."""
    expect = _expect()
    for index in range(3_000):
        fresh.engine.accounts.add_account(f"mhk_test_crowd_{index:05d}")
    receiver = Receiver()
    with ThreadedServer(receiver.app) as target:
        fresh.add_webhook(f"{target.url}/webhooks/magic-hour", SECRET, ["audio.started", "audio.completed"])
        newest = ""
        for _ in range(750):
            newest = fresh.create_project(TOKEN)["id"]
        fresh.finish_all()
        fresh.deliver_webhooks()
    assert len(fresh.deliveries(limit=100_000)) == 1_500 and fresh.state()["accounts"] == 3_001

    sizes: list[tuple[str, int]] = []
    page, watch = open_page(fresh.url)
    page.on("response", lambda r: sizes.append((r.url, len(r.body()))) if "/mh-mock-api/" in r.url else None)
    accounts = page.locator("#accounts")
    expect(accounts.locator("#accounts-summary")).to_have_text("Showing the newest 1,000 of 3,001 accounts.")
    expect(accounts.locator("tbody tr")).to_have_count(1_000)
    expect(accounts.locator("tbody tr").first).to_contain_text(fresh.accounts(limit=1)[0]["id"])  # newest first
    deliveries = page.locator("#webhooks")
    summary = deliveries.locator("#deliveries-summary")
    expect(summary).to_have_text("The newest 200 deliveries listed (older ones are not loaded).")
    expect(page.locator("#deliveries-table tbody tr")).to_have_count(200)
    expect(page.locator("#deliveries-table tbody tr").first).to_contain_text(newest)
    expect(_row(page, "projects-table", newest)).to_be_visible()

    state = deliveries.get_by_label("State")
    state.select_option("failed")  # the server filters: none failed
    expect(deliveries).to_contain_text("No failed deliveries.")
    expect(page.locator("#deliveries-table")).to_be_hidden()
    state.select_option("delivered")
    expect(summary).to_have_text("The newest 200 delivered deliveries listed (older ones are not loaded).")
    page.wait_for_timeout(2_500)  # a few idle polls
    _shoot(page, tmp_path, "bounded")

    polled = [urlsplit(r.url) for r in watch.requests if r.method == "GET" and "/mh-mock-api/" in r.url]
    for path in ("/mh-mock-api/accounts", "/mh-mock-api/webhooks/deliveries", "/mh-mock-api/projects"):
        queries = [parse_qs(u.query) for u in polled if u.path == path]
        assert queries, path
        assert all(1 <= int(q["limit"][0]) <= 1_000 for q in queries), (path, queries)
    delivery_states = [parse_qs(u.query).get("state") for u in polled if u.path.endswith("/webhooks/deliveries")]
    assert delivery_states[-1] == ["delivered"] and ["failed"] in delivery_states
    assert len(sizes) > 20
    heaviest = max(sizes, key=lambda item: item[1])
    print("heaviest admin answers:", sorted({(urlsplit(u).path, n) for u, n in sizes}, key=lambda i: -i[1])[:4])
    assert heaviest[1] < ADMIN_BYTES_PER_POLL, f"{heaviest[0]} answered {heaviest[1]:,} bytes"


@pytest.mark.slow
def test_a_project_without_audio_says_why(fresh: LiveServer, open_page: Any) -> None:
    expect = _expect()
    failed, canceled, waiting = (_create(fresh, name=n) for n in ("fails", "is canceled", "waits"))
    fresh.force(failed, "error", code="processing_timeout")
    fresh.cancel(canceled)
    page, _ = open_page(fresh.url)
    detail = page.locator("#project-detail")
    for project_id, why in [(failed, "none (the job ended in error)"), (canceled, "none (canceled)"),
                            (waiting, "none until complete")]:  # fmt: skip
        expect(_row(page, "projects-table", project_id)).to_be_visible()
        _row(page, "projects-table", project_id).get_by_role("button", name=project_id, exact=True).click()
        expect(detail).to_contain_text(project_id)
        expect(detail.locator("dd", has_text="none")).to_have_text(why)


@pytest.mark.slow
def test_clock_advance_and_progression(fresh: LiveServer, open_page: Any) -> None:
    expect = _expect()
    page, _ = open_page(fresh.url)
    before = fresh.state()
    seconds = page.get_by_label("Seconds")
    expect(seconds).to_have_value("10")
    expect(page.locator("#clock-now")).to_have_text(before["now"])
    with _acting(page, "/clock/advance") as answer:
        page.get_by_role("button", name=re.compile("Advance")).click()
    assert answer.value.ok
    after = fresh.state()
    assert after["epoch"] == pytest.approx(before["epoch"] + 10)
    expect(page.locator("#clock-now")).to_have_text(after["now"])
    seconds.fill("3600")
    with _acting(page, "/clock/advance"):
        page.get_by_role("button", name=re.compile("Advance")).click()
    assert fresh.state()["epoch"] == pytest.approx(before["epoch"] + 3610)
    assert fresh.state()["progression"] == "clock"
    with _acting(page, "/progression", "PUT"):
        page.get_by_role("group", name="Progression").get_by_role("button", name="Poll").click()
    assert fresh.state()["progression"] == "poll"
    expect(page.get_by_role("button", name="Poll")).to_have_attribute("aria-pressed", "true")


@pytest.mark.slow
def test_finish_cancel_delete_play_and_download(fresh: LiveServer, open_page: Any, tmp_path: Path) -> None:
    expect = _expect()
    done, canceled, deleted = (_create(fresh, name=n) for n in ("to finish", "to cancel", "to delete"))
    page, _ = open_page(fresh.url)
    for project_id in (done, canceled, deleted):
        expect(_row(page, "projects-table", project_id)).to_contain_text("queued")

    with _acting(page, f"/projects/{done}/finish"):
        _row(page, "projects-table", done).get_by_role("button", name="Finish").click()
    assert fresh.project(done)["status"] == "complete"
    with _acting(page, f"/projects/{canceled}/cancel"):
        _row(page, "projects-table", canceled).get_by_role("button", name="Cancel").click()
    assert fresh.project(canceled)["status"] == "canceled"
    expect(_row(page, "projects-table", canceled).get_by_role("button", name="Finish")).to_be_disabled()

    delete = _row(page, "projects-table", deleted).get_by_role("button", name="Delete")
    delete.click()  # the first press only asks: deletion is irreversible
    expect(_row(page, "projects-table", deleted).get_by_role("button", name="Confirm delete")).to_be_visible()
    assert fresh.project(deleted)["enabled"] is True
    with _acting(page, f"/projects/{deleted}", "DELETE"):
        _row(page, "projects-table", deleted).get_by_role("button", name="Confirm delete").click()
    with _api(fresh) as http:
        gone = http.get(f"/v1/audio-projects/{deleted}").json()
    assert gone["enabled"] is False and gone["downloads"] == []
    expect(_row(page, "projects-table", deleted)).to_contain_text("downloads gone")
    expect(_row(page, "projects-table", deleted).get_by_role("button", name="Delete")).to_be_disabled()

    # the complete one plays in the page and downloads as a WAV
    row = _row(page, "projects-table", done)
    row.get_by_role("button", name=f"Play {done}").click()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=EXPECT_TIMEOUT)
    assert page.evaluate("document.getElementById('player').duration") > 0
    expect(page.locator("#project-detail")).to_contain_text(done)
    with page.expect_download() as download:
        row.get_by_role("link", name=f"Download {done}").click()
    assert Path(download.value.path()).read_bytes()[:4] == b"RIFF"
    assert download.value.suggested_filename == f"{done}.wav"
    _shoot(page, tmp_path, "actions")


@pytest.mark.slow
def test_audio_plays_under_another_loopback_name(fresh: LiveServer, open_page: Any) -> None:
    """Download URLs name the public URL (127.0.0.1); a tab on localhost fetches them from its own origin."""
    expect = _expect()
    project_id = _create(fresh)
    fresh.finish(project_id)
    other = fresh.url.replace("127.0.0.1", "localhost")
    page, watch = open_page(other)
    row = _row(page, "projects-table", project_id)
    expect(row.get_by_role("link", name=f"Download {project_id}")).to_have_attribute(
        "href", re.compile("^" + re.escape(other + "/outputs/"))
    )
    row.get_by_role("button", name=f"Play {project_id}").click()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=EXPECT_TIMEOUT)
    assert any(r.url.startswith(other + "/outputs/") for r in watch.requests)


@pytest.mark.slow
def test_force_an_error_code_from_the_details(fresh: LiveServer, open_page: Any) -> None:
    expect = _expect()
    project_id = _create(fresh)
    page, _ = open_page(fresh.url)
    _row(page, "projects-table", project_id).get_by_role("button", name=project_id, exact=True).click()
    form = page.locator("form[data-operation=force]")
    form.get_by_label("Status").select_option("error")
    form.get_by_label("Code").fill("processing_timeout")
    with _acting(page, f"/projects/{project_id}/force"):
        form.get_by_role("button", name="Force now").click()
    project = fresh.project(project_id)
    assert project["status"] == "error" and project["error"]["code"] == "processing_timeout"
    expect(_row(page, "projects-table", project_id)).to_contain_text("processing_timeout")


@pytest.mark.slow
def test_forms_follow_the_operation_table(fresh: LiveServer, open_page: Any) -> None:
    expect = _expect()
    page, _ = open_page(fresh.url)
    operations = {op["name"]: op for op in fresh.operations()}
    for name in ("add_fault", "add_scenario", "fail_next", "add_webhook", "add_account", "reset"):
        form = page.locator(f"form[data-operation={name}]")
        expect(form).to_have_count(1)
        for prop, schema in operations[name]["body"]["properties"].items():
            control = (
                form.locator(f"[name={prop}]") if "enum" not in schema.get("items", {}) else form.locator("fieldset")
            )
            expect(control.first).to_be_attached()
            if "enum" in schema:
                options = control.first.locator("option").all_text_contents()
                assert [str(v) for v in schema["enum"]] == [o for o in options if o != "—"], (name, prop)
            if schema.get("type") == "integer":
                assert control.first.get_attribute("type") == "number" and control.first.get_attribute("step") == "1"
    kind = page.locator("form[data-operation=add_fault]").get_by_label("Kind")
    assert kind.evaluate("e => e.tagName") == "SELECT" and kind.get_attribute("required") is not None


@pytest.mark.slow
def test_a_fault_added_in_the_page_strikes_the_next_call(fresh: LiveServer, open_page: Any) -> None:
    expect = _expect()
    page, _ = open_page(fresh.url)
    form = page.locator("form[data-operation=add_fault]")
    form.get_by_label("Kind").select_option("rate_limit")
    form.get_by_label("Route").fill("account.get")
    form.get_by_label("Times", exact=True).fill("1")
    with _acting(page, "/faults"):
        form.get_by_role("button", name="Add fault").click()
    expect(page.locator("#simulation")).to_contain_text("account.get")
    with _api(fresh) as http:
        struck = http.get("/v1/account")
        assert struck.status_code == 429 and struck.json()["code"] == "rate_limited"
        assert http.get("/v1/account").status_code == 200  # it struck once
    expect(_row(page, "journal-table", "rate_limit")).to_contain_text("429")

    failing = page.locator("form[data-operation=fail_next]")
    failing.get_by_label("Count").fill("1")
    failing.get_by_label("Code").fill("text_too_long")
    with _acting(page, "/scenarios/fail-next"):
        failing.get_by_role("button", name="Fail next").click()
    project_id = _create(fresh)
    fresh.finish(project_id)
    assert fresh.project(project_id)["error"]["code"] == "text_too_long"
    expect(_row(page, "projects-table", project_id)).to_contain_text("text_too_long")


@pytest.mark.slow
def test_accounts_set_balance_and_add(fresh: LiveServer, open_page: Any) -> None:
    expect = _expect()
    _create(fresh)
    page, _ = open_page(fresh.url)
    account = fresh.accounts()[0]
    section = page.locator("#accounts")
    expect(section).to_contain_text(account["token"])
    balance = section.locator("form[data-operation=set_balance_by_id]")
    balance.get_by_label("Account").select_option(account["id"])
    expect(balance.get_by_label("Credits")).to_have_value(str(account["credits"]))
    balance.get_by_label("Credits").fill("1234")
    with _acting(page, f"/accounts/by-id/{account['id']}/credits", "PUT"):
        balance.get_by_role("button", name="Set balance").click()
    assert fresh.balance(TOKEN) == 1234
    expect(section.locator("tbody")).to_contain_text("1,234")

    section.get_by_text("Add an account").click()
    form = section.locator("form[data-operation=add_account]")
    form.get_by_label("Token").fill("mhk_live_added")
    form.get_by_label("Credits").fill("42")
    with _acting(page, "/accounts"):
        form.get_by_role("button", name="Add account").click()
    assert fresh.balance("mhk_live_added") == 42
    expect(section.locator("tbody tr")).to_have_count(2)


@pytest.mark.slow
def test_webhook_delivery_retry_and_redelivery(fresh: LiveServer, open_page: Any, tmp_path: Path) -> None:
    expect = _expect()
    receiver = Receiver(fail_first=1)  # the first request gets a 500
    with ThreadedServer(receiver.app) as target:
        url = f"{target.url}/webhooks/magic-hour"
        page, _ = open_page(fresh.url)
        section = page.locator("#webhooks")
        section.get_by_text("Add an endpoint").click()
        form = section.locator("form[data-operation=add_webhook]")
        form.get_by_label("Url").fill(url)
        form.get_by_label("Secret").fill(SECRET)
        with _acting(page, "/webhooks"):
            form.get_by_role("button", name="Add endpoint").click()
        expect(section.locator("ul.items")).to_contain_text(url)

        project_id = _create(fresh)
        fresh.finish(project_id)
        started = _row(page, "deliveries-table", "audio.started")
        expect(started).to_contain_text("500")  # first attempt failed: pending, with its next retry
        expect(started).to_contain_text("pending")
        assert fresh.deliveries()[0]["next_attempt_at"] is not None

        page.get_by_label("Seconds").fill("1")
        with _acting(page, "/clock/advance"):
            page.get_by_role("button", name=re.compile("Advance")).click()
        completed = _row(page, "deliveries-table", "audio.completed")
        expect(completed).to_contain_text("delivered")
        expect(started).to_contain_text("delivered")
        expect(started.locator(".attempts li")).to_have_count(2)
        assert receiver.sequence(project_id) == ["audio.started", "audio.completed"]

        with _acting(page, "/redeliver"):
            completed.get_by_role("button", name=re.compile("Redeliver")).click()
        expect(page.locator("#deliveries-table")).to_contain_text("redelivery of")
        again = _row(page, "deliveries-table", "redelivery of")
        expect(again).to_contain_text("delivered")
        expect(again).to_contain_text("200")
        assert receiver.sequence(project_id) == ["audio.started", "audio.completed", "audio.completed"]
        assert [d["redelivery_of"] is not None for d in fresh.deliveries()].count(True) == 1
        _shoot(page, tmp_path, "webhooks")


@pytest.mark.slow
def test_user_strings_stay_text(fresh: LiveServer, open_page: Any, tmp_path: Path) -> None:
    expect = _expect()
    project_id = _create(fresh, name=XSS, prompt=XSS)
    failed = _create(fresh, name="fails")
    fresh.force(failed, "error", code="bad_input", message=XSS)
    fresh.add_fault("latency", project_id=XSS, seconds=0)
    fresh.add_webhook(f"http://127.0.0.1:9/{XSS}", XSS)
    page, watch = open_page(fresh.url)
    expect(_row(page, "projects-table", project_id)).to_contain_text(XSS)
    expect(_row(page, "projects-table", failed)).to_contain_text(XSS)
    expect(page.locator("#simulation")).to_contain_text(XSS)
    expect(page.locator("#webhooks")).to_contain_text(XSS)
    journal = _row(page, "journal-table", project_id)
    journal.get_by_role("button", name=re.compile("Show bodies")).click()
    expect(page.locator("#journal-table pre", has_text=XSS).first).to_be_visible()
    _row(page, "projects-table", project_id).get_by_role("button", name=project_id, exact=True).click()
    expect(page.locator("#project-detail")).to_contain_text(XSS)
    assert page.locator("img[src=x]").count() == 0
    assert not [r.url for r in watch.requests if r.url.rstrip("/").endswith("/x")]
    _shoot(page, tmp_path, "xss")
    # the dialog check runs after the test (watch.check): alert(1) never fired


@pytest.mark.slow
def test_journal_exports_har_and_json(fresh: LiveServer, open_page: Any) -> None:
    expect = _expect()
    project_id = _create(fresh)
    with _api(fresh) as http:
        http.get(f"/v1/audio-projects/{project_id}")
        http.get("/v1/audio-projects/cnothere")
    page, _ = open_page(fresh.url)
    expect(page.locator("#journal-table tbody")).to_have_count(3)
    with page.expect_download() as har_download:
        page.get_by_role("button", name="Export HAR").click()
    har = json.loads(Path(har_download.value.path()).read_text("utf-8"))
    assert har_download.value.suggested_filename.endswith(".har")
    log = har["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "mh-mock"
    calls = fresh.call("journal")
    assert [e["request"]["url"] for e in log["entries"]] == [c["url"] for c in calls]
    assert [e["response"]["status"] for e in log["entries"]] == [200, 200, 404]
    first = log["entries"][0]
    assert json.loads(first["request"]["postData"]["text"]) == calls[0]["body"]
    assert json.loads(first["response"]["content"]["text"]) == calls[0]["response"]
    for entry in log["entries"]:
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= entry.keys()
        assert {
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        } <= entry["request"].keys()
        assert {
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        } <= entry["response"].keys()

    with page.expect_download() as json_download:
        page.get_by_role("button", name="Export JSON").click()
    assert json.loads(Path(json_download.value.path()).read_text("utf-8")) == calls

    # filters go to the server: only the 404
    filters = page.get_by_role("search", name="Filter the journal")
    filters.get_by_label("Status").fill("404")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#journal-table tbody")).to_have_count(1)
    expect(page.locator("#journal-table tbody")).to_contain_text("404")


@pytest.mark.slow
def test_reset_with_a_bundled_seed(fresh: LiveServer, open_page: Any) -> None:
    expect = _expect()
    _create(fresh, name="forgotten")
    page, _ = open_page(fresh.url)
    expect(page.locator("#projects-table")).to_contain_text("forgotten")
    form = page.locator("form[data-operation=reset]")
    form.get_by_label("Bundled seed").select_option("every-status")
    form.get_by_role("button", name="Reset…").click()
    with _acting(page, "/reset"):
        form.get_by_role("button", name=re.compile("Confirm reset")).click()
    assert {p["id"] for p in fresh.projects()} >= {"cuid-complete", "cuid-queued"}
    expect(page.locator("#projects-table")).to_contain_text("cuid-complete")
    expect(page.locator("#projects-table")).not_to_contain_text("forgotten")
    expect(page.locator("#journal-table")).to_be_hidden()


@pytest.mark.slow
def test_docs_render_the_api_reference_offline(server: LiveServer, open_page: Any, tmp_path: Path) -> None:
    expect = _expect()
    page, watch = open_page(server.url, "/docs")
    expect(page.get_by_text("/v1/ai-voice-generator", exact=True).first).to_be_visible()
    expect(page.get_by_text("/mh-mock-api/clock/advance", exact=True).first).to_be_visible()
    assert any(r.url.endswith("/openapi.json") for r in watch.requests)
    _shoot(page, tmp_path, "docs")


@pytest.mark.slow
def test_admin_token_is_asked_for_and_sent_as_a_header(open_page: Any) -> None:
    expect = _expect()
    secret = "s3cret-admin-token"
    with LiveServer(admin_token=secret, frozen_clock=True) as guarded:
        project_id = _create(guarded)
        page, watch = open_page(guarded.url)
        watch.tolerated.append(re.compile(r"status of 403"))  # the wrong token below, on purpose
        dialog = page.get_by_role("dialog", name="Unlock the admin API")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Admin token").fill("wrong")
        dialog.get_by_role("button", name="Use token").click()
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("refused")
        dialog.get_by_label("Admin token").fill(secret)
        dialog.get_by_role("button", name="Use token").click()
        expect(dialog).to_be_hidden()
        expect(_row(page, "projects-table", project_id)).to_be_visible()
        assert secret not in page.url
        assert page.evaluate("sessionStorage.getItem('mh-mock-admin-token')") == secret
        admin_calls = [r for r in watch.requests if "/mh-mock-api/" in r.url]
        assert admin_calls and all(secret not in r.url for r in watch.requests)
        assert admin_calls[-1].headers.get("x-mh-mock-admin-token") == secret
        page.reload()  # the tab keeps it: no question after a reload
        expect(_row(page, "projects-table", project_id)).to_be_visible()
        expect(dialog).to_be_hidden()


@pytest.mark.slow
def test_screenshot_of_a_realistic_state(fresh: LiveServer, open_page: Any, tmp_path: Path) -> None:
    """A few projects in different statuses, webhook deliveries, journal lines: docs/dashboard.png.

    The clock moves between steps (voice jobs: 1 s queued, 3 s rendering), so timelines read true.
    """
    expect = _expect()
    receiver = Receiver(fail_first=1)  # the first delivery gets a 500 and is retried
    with ThreadedServer(receiver.app) as target:
        fresh.add_webhook(f"{target.url}/webhooks/magic-hour", SECRET)
        fresh.add_webhook("http://127.0.0.1:9/unreachable", "whsec_other", ["audio.completed"])  # refused: retried
        fresh.fail_next(1, "processing_timeout")
        welcome = _create(fresh, name="Welcome message", prompt="Welcome to Acme support, how can I help?")
        intro = _create(fresh, name="Podcast intro", prompt="This is the Acme podcast, episode twelve.")
        order = _create(fresh, name="Order confirmation", prompt="Your order has shipped.")
        draft = _create(fresh, name="Old draft", prompt="Testing, one, two.")
        fresh.advance(2)
        fresh.cancel(order)
        fresh.deliver_webhooks()
        fresh.advance(3)
        fresh.deliver_webhooks()
        fresh.delete(draft)
        music = fresh.create_project("mhk_live_studio", endpoint="music_generator", name="Lo-fi loop",
                                     prompt="lofi piano, rain", duration=30)["id"]  # fmt: skip
        greeting = _create(fresh, name="Support greeting", prompt="Thanks for calling, please hold.")
        fresh.advance(1.5)
        queued = _create(fresh, name="Voicemail", prompt="Leave a message after the tone.")
        fresh.add_fault("rate_limit", route="projects.get", nth=2, retry_after=5, times=3)
        fresh.add_scenario("error:invalid_voice", prompt_contains="[fail]")
        with _api(fresh) as http:
            for project_id in (intro, welcome, intro, greeting):
                http.get(f"/v1/audio-projects/{project_id}")
            http.get("/v1/account")
        fresh.deliver_webhooks()
        page, _ = open_page(fresh.url)
        for project_id in (music, queued, intro, welcome, order, draft, greeting):
            expect(_row(page, "projects-table", project_id)).to_be_visible()
        expect(page.locator("#deliveries-table")).to_contain_text("500")
        _row(page, "projects-table", intro).get_by_role("button", name=intro, exact=True).click()
        page.locator("#journal-table tbody").first.get_by_role("button").click()
        shot = _shoot(page, tmp_path, "dashboard")
    keep = os.environ.get(SCREENSHOT_ENV)
    if keep:
        shutil.copyfile(shot, keep)
