"""In-process rows: a GET through ``MhMock`` vs a bare respx route answering the same bytes.

Every fake batch uses a fresh ``MhMock()`` (as a test would): the project is created through the
API (POST), polled to ``complete`` (untimed), then GET ``n`` times (timed). The floor is a bare
respx route answering the bytes the fake answered, with respx's default mocker (what a user gets
from ``respx.mock()``) and, for information, with ``using="httpx"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import magic_hour
import respx
from _common import (
    API,
    AUTH,
    CREATE_PATH,
    JSON_HEADERS,
    POST_BODY,
    TOKEN,
    Batch,
    Settings,
    Table,
    Variant,
    at_most,
    compare,
    progress,
    project_path,
    sync_batch,
    us,
)

from mh_mock import MhMock

M_GET_SYNC = "in-process GET, sync httpx.Client: MhMock vs bare respx route (default mocker)"
M_GET_SYNC_HTTPX = 'in-process GET, sync httpx.Client: MhMock vs bare respx route (using="httpx")'
M_GET_ASYNC = "in-process GET, httpx.AsyncClient: MhMock vs bare respx route (default mocker)"
M_GET_ASYNC_HTTPX = 'in-process GET, httpx.AsyncClient: MhMock vs bare respx route (using="httpx")'
M_SDK_GET = "SDK audio_projects.get: MhMock vs bare respx route (default mocker)"
MEASUREMENTS = [M_GET_SYNC, M_GET_SYNC_HTTPX, M_GET_ASYNC, M_GET_ASYNC_HTTPX, M_SDK_GET]
TARGET = "≤ 1.2x"


def complete_project(http: httpx.Client, api_url: str) -> str:
    """Create a voice project through the API and GET it until it is complete (poll progression)."""
    created = http.post(f"{api_url}{CREATE_PATH}", content=POST_BODY, headers=JSON_HEADERS)
    assert created.status_code == 200, created.text
    project_id: str = created.json()["id"]
    for _ in range(20):
        if http.get(f"{api_url}{project_path(project_id)}").json()["status"] == "complete":
            return project_id
    raise AssertionError(f"project {project_id} did not complete after 20 GETs (is poll progression the default?)")


def bench_inprocess(s: Settings, table: Table) -> None:
    http = httpx.Client(headers=AUTH)
    # The floor answers the bytes of one finished project, captured from the fake.
    with MhMock() as fake:
        floor_id = complete_project(http, fake.api_url)
        answer = http.get(f"{fake.api_url}{project_path(floor_id)}")
    assert answer.status_code == 200 and answer.json()["status"] == "complete", answer.text
    floor_url = f"{API}{project_path(floor_id)}"
    body, headers = answer.content, {"content-type": answer.headers["content-type"]}

    @contextlib.contextmanager
    def on_fake(make: Callable[[str], Batch]) -> Iterator[Batch]:
        with MhMock() as mock:  # a fresh fake per batch, like a test
            project_id = complete_project(http, mock.api_url)
            yield make(project_id)

    @contextlib.contextmanager
    def on_respx(make: Callable[[str], Batch], **using: Any) -> Iterator[Batch]:
        with respx.mock(assert_all_called=False, **using) as router:
            router.get(floor_url).respond(content=body, headers=headers)
            yield make(floor_id)

    def sync_get(project_id: str) -> Batch:
        url = f"{API}{project_path(project_id)}"
        return sync_batch(lambda: http.get(url).json(), s.warm)

    def async_get(project_id: str) -> Batch:
        url = f"{API}{project_path(project_id)}"

        async def run(n: int) -> float:
            async with httpx.AsyncClient(headers=AUTH) as client:
                for _ in range(s.warm):
                    (await client.get(url)).json()
                gc.collect()
                start = time.perf_counter()
                for _ in range(n):
                    (await client.get(url)).json()
                return time.perf_counter() - start

        return lambda n: asyncio.run(run(n))

    sdk = magic_hour.Client(token=TOKEN, httpx_client=http)

    def sdk_get(project_id: str) -> Batch:
        return sync_batch(lambda: sdk.v1.audio_projects.get(id=project_id), s.warm)

    for label, make, default_row, httpx_row in (
        ("sync", sync_get, M_GET_SYNC, M_GET_SYNC_HTTPX),
        ("async", async_get, M_GET_ASYNC, M_GET_ASYNC_HTTPX),
    ):
        progress(f"in-process GET, {label}")
        variants: dict[str, Variant] = {
            "fake": functools.partial(on_fake, make),
            "respx": functools.partial(on_respx, make),
            "respx-httpx": functools.partial(on_respx, make, using="httpx"),
        }
        got = compare(variants, s.get_n, s.reps)
        table.add(default_row, got["fake"], got["respx"], us, TARGET, at_most(1.2))
        table.add(httpx_row, got["fake"], got["respx-httpx"], us)

    progress("in-process SDK audio_projects.get")
    with MhMock() as fake:  # sanity check, untimed
        project_id = complete_project(http, fake.api_url)
        assert sdk.v1.audio_projects.get(id=project_id).status == "complete"
    got = compare({"fake": functools.partial(on_fake, sdk_get), "respx": functools.partial(on_respx, sdk_get)},
                  s.get_n, s.reps)  # fmt: skip
    table.add(M_SDK_GET, got["fake"], got["respx"], us, TARGET, at_most(1.2))
    http.close()
    try:
        from respx.mocks import DEFAULT_MOCKER as mocker
    except ImportError:  # respx moved it: the note says so
        mocker = "unknown"
    table.note(
        f"in-process: median of {s.reps} interleaved batches of {s.get_n} calls (after {s.warm} untimed); each fake "
        "batch is a fresh MhMock() whose project is created by a POST and polled to complete, untimed; the floor "
        f"answers the fake's bytes from route.respond(content=..., headers=...); respx's default mocker here is "
        f"{mocker!r}"
    )
