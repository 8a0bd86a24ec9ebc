"""Where does the fake's time go? Profiles behind the explanations in bench/README.md.

    /work/venv/bin/python bench/profile_hotpaths.py micro        # wall-clock cost of each piece (timeit, no profiler)
    /work/venv/bin/python bench/profile_hotpaths.py inprocess    # cProfile: fake vs bare respx, per request
    /work/venv/bin/python bench/profile_hotpaths.py standalone   # cProfile of both servers under wrk + GC pauses
    /work/venv/bin/python bench/profile_hotpaths.py memory       # bytes/objects kept per request, gen2 pause growth

cProfile inflates call-heavy code, so its per-request numbers are for attribution ("which
function"), while ``micro`` gives the wall-clock cost of each piece for estimating a fix.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

os.environ["MAGIC_HOUR_POLL_INTERVAL"] = "0"

import httpx
import respx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # bench/run.py: servers, wrk driver, constants

from mh_mock.mock import MhMock

TOKEN, API = run.TOKEN, run.API


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker)[-1]
    return filename


def per_call(stats: pstats.Stats, calls: int) -> dict[str, tuple[float, float, float]]:
    """function -> (calls per request, self µs per request, cumulative µs per request)."""
    out = {}
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        out[f"{_short(filename)}:{line}({name})"] = (ncalls / calls, tottime / calls * 1e6, cumtime / calls * 1e6)
    return out


def print_diff(title: str, fake: dict[str, tuple[float, float, float]], floor: dict[str, tuple[float, float, float]],
               top: int = 30) -> None:  # fmt: skip
    print(f"\n### {title}\n")
    print("| self µs/req fake-floor | cum µs/req fake-floor | calls/req fake | calls/req floor | function |")
    print("|---:|---:|---:|---:|---|")
    rows = []
    for key in set(fake) | set(floor):
        a, b = fake.get(key, (0, 0, 0)), floor.get(key, (0, 0, 0))
        rows.append((a[1] - b[1], a[2] - b[2], a[0], b[0], key))
    rows.sort(reverse=True)
    for self_diff, cum_diff, calls_a, calls_b, key in rows[:top]:
        print(f"| {self_diff:.1f} | {cum_diff:.1f} | {calls_a:.1f} | {calls_b:.1f} | `{key}` |")


def print_top(title: str, table: dict[str, tuple[float, float, float]], key: int = 2, top: int = 30,
              only: tuple[str, ...] = ()) -> None:  # fmt: skip
    print(f"\n### {title}\n")
    print("| cum µs/req | self µs/req | calls/req | function |")
    print("|---:|---:|---:|---|")
    rows = sorted(table.items(), key=lambda item: item[1][key], reverse=True)
    shown = 0
    for name, (calls, self_us, cum_us) in rows:
        if only and not any(part in name for part in only):
            continue
        print(f"| {cum_us:.1f} | {self_us:.1f} | {calls:.2f} | `{name}` |")
        shown += 1
        if shown >= top:
            break


# ---------------------------------------------------------------------------- micro


def micro() -> None:
    import hashlib
    import hmac
    import inspect

    from respx.models import clone_response

    from mh_mock._json import dump_json
    from mh_mock.clock import format_timestamp
    from mh_mock.contract import load_contract
    from mh_mock.dispatch import ALL_SURFACES, Request, parse_json
    from mh_mock.ids import Signer

    fake = MhMock(starting_balance=10**12)
    project = fake.engine.create_voice(TOKEN, prompt=run.PROMPT, voice_name="Elon Musk")
    fake.engine.finish(project.id)
    url = f"{API}/v1/audio-projects/{project.id}"
    request = httpx.Request("GET", url, headers=run.AUTH)
    surfaces = ALL_SURFACES
    side_effect = fake._hosts[0].serve
    sign = Signer(b"0123456789abcdef").sign
    body = fake.engine.get_project(TOKEN, project.id)
    raw = dump_json(body)
    dispatch_request = Request("GET", url, f"/v1/audio-projects/{project.id}", request.url.params, request.headers, b"")
    response = httpx.Response(200, headers=run.JSON_HEADERS, content=raw)
    validator = load_contract().requests["aiVoiceGenerator.createAudio"]
    document = json.loads(run.POST_BODY)
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    keyed = hmac.new(b"0123456789abcdef", digestmod=hashlib.sha256)
    engine = fake.engine
    names: dict[str, Any] = {
        "inspect": inspect, "clone_response": clone_response, "format_timestamp": format_timestamp,
        "parse_json": parse_json, "sign": sign, "dump_json": dump_json, "time": time, "httpx": httpx, "run": run,
        "fake": fake, "project": project, "url": url, "request": request, "surfaces": surfaces,
        "side_effect": side_effect, "body": body, "raw": raw, "dispatch_request": dispatch_request,
        "response": response, "validator": validator, "document": document, "encoder": encoder,
        "keyed": keyed, "engine": engine, "TOKEN": TOKEN,
    }  # fmt: skip
    cases = [
        ("MhMock side effect, whole (mock.py side_effect)", "side_effect(request)"),
        ("  Dispatcher.handle(GET project)", "fake.dispatcher.handle(dispatch_request, surfaces)"),
        ("    Engine.get_project (complete project)", "engine.get_project(TOKEN, project.id)"),
        ("      Engine.project_body", "engine.project_body(project)"),
        ("        clock.format_timestamp (x2 per complete GET)", "format_timestamp(1795923702.059)"),
        (
            "        ids.Signer.sign (a keyed HMAC, copied)",
            "sign('output', project.id, 1795923702059)",
        ),
        ("    _json.dump_json(body)", "dump_json(body)"),
        (
            "    Journal.record",
            "engine.journal.record(at=1.0, method='GET', url=url, route='x', token=TOKEN, body=None, status=200, project_id=project.id, response=body)",
        ),
        (
            "  old: httpx.Response(status, headers=dict, content=bytes)",
            "httpx.Response(200, headers={'content-type': 'application/json'}, content=raw)",
        ),
        ("  old: respx inspect.getfullargspec(side_effect) per request", "inspect.getfullargspec(side_effect)"),
        (
            "POST: jsonschema best_match(iter_errors) on a valid create body",
            "validator.iter_errors(document) and __import__('jsonschema').exceptions.best_match(validator.iter_errors(document))",
        ),
        ("POST: parse_json(body)", "parse_json(run.POST_BODY)"),
        ("POST: Engine.create_voice", "engine.create_voice(TOKEN, prompt=run.PROMPT, voice_name='Elon Musk')"),
        (
            "alt: httpx.Response(status, headers=[bytes pairs + content-length], stream=ByteStream, request=)",
            "httpx.Response(200, headers=[(b'content-type', b'application/json'), (b'content-length', b'%d' % len(raw))], stream=httpx.ByteStream(raw), request=request)",
        ),
        ("alt: respx clone_response (what the bare route pays)", "clone_response(response, request)"),
        (
            "alt: time.strftime(gmtime) timestamp",
            "(lambda m: time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(m // 1000)) + '.%03dZ' % (m % 1000))(round(1795923702.059 * 1000))",
        ),
        (
            "alt: hmac.copy() of a keyed HMAC + update",
            "h = keyed.copy(); h.update(b'output\\x1fcabc\\x1f1795923702059'); h.hexdigest()[:32]",
        ),
        ("alt: cached JSONEncoder.encode", "encoder.encode(body).encode()"),
        ("alt: jsonschema validator.is_valid", "validator.is_valid(document)"),
    ]
    try:  # optional: installed here as a dependency of schemathesis, not of mh_mock
        import jsonschema_rs

        names["fast"] = jsonschema_rs.validator_for(validator.schema)
        cases.append(("alt: jsonschema_rs is_valid (not a dependency today)", "fast.is_valid(document)"))
    except Exception:
        pass
    print("\n### wall-clock cost per call (best of 5 timeit runs)\n")
    print("| µs | piece |")
    print("|---:|---|")
    for label, statement in cases:
        number = 2000
        best = min(timeit.repeat(statement, number=number, repeat=5, globals=names)) / number
        print(f"| {best * 1e6:.1f} | {label} |")


# ---------------------------------------------------------------------------- in-process


def inprocess(calls: int = 3000) -> None:
    fake = MhMock()
    project = fake.engine.create_voice(TOKEN, prompt=run.PROMPT, voice_name="Elon Musk")
    fake.engine.finish(project.id)
    url = f"{API}/v1/audio-projects/{project.id}"
    client = httpx.Client(headers=run.AUTH)
    with fake:
        body = client.get(url).content
    import magic_hour

    sdk = magic_hour.Client(token=TOKEN, httpx_client=client)

    def profile(context: Any, call: Any) -> pstats.Stats:
        with context:
            for _ in range(200):
                call()
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(calls):
                call()
            profiler.disable()
        return pstats.Stats(profiler)

    def bare() -> Any:
        router = respx.mock(using="httpx", assert_all_called=False)
        router.get(url).respond(content=body, headers=run.JSON_HEADERS)
        return router

    for title, call in (
        ("in-process GET sync (httpx .get().json())", lambda: client.get(url).json()),
        ("SDK audio_projects.get", lambda: sdk.v1.audio_projects.get(id=project.id)),
    ):
        fake.engine.journal.clear()
        a, b = profile(fake, call), profile(bare(), call)
        print(f"\n## {title}: cProfile total {a.total_tt / calls * 1e6:.0f} µs/req fake, "  # type: ignore[attr-defined]
              f"{b.total_tt / calls * 1e6:.0f} µs/req bare respx")  # type: ignore[attr-defined]  # fmt: skip
        print_diff(
            f"{title}: fake minus bare respx route (cProfile, µs per request)", per_call(a, calls), per_call(b, calls)
        )


# ---------------------------------------------------------------------------- standalone


def standalone(seconds: int = 4) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="mh-bench-prof-"))
    outcomes: dict[tuple[str, str], Any] = {}
    for method in ("GET", "POST"):
        for kind in ("fake", "bare"):
            prof, gcs = workdir / f"{kind}-{method}.prof", workdir / f"{kind}-{method}.gc.json"
            env = {"MH_BENCH_PROFILE": str(prof), "MH_BENCH_GCSTATS": str(gcs)}
            fake = run.ServerProcess("fake", workdir, env if kind == "fake" else None)
            bare = run.ServerProcess("bare", workdir, env if kind == "bare" else None)
            try:
                fake.wait_ready()
                with httpx.Client(base_url=fake.url, headers=run.AUTH) as client:
                    created = client.post("/v1/ai-voice-generator", content=run.POST_BODY, headers=run.JSON_HEADERS)
                    pid = created.json()["id"]
                    client.post(f"/mh-mock-api/projects/{pid}/finish")
                    got = client.get(f"/v1/audio-projects/{pid}")
                (workdir / "get.json").write_bytes(got.content)
                (workdir / "post.json").write_bytes(created.content)
                (workdir / "bodies.ready").touch()
                bare.wait_ready()
                server = fake if kind == "fake" else bare
                script, path = (
                    ("wrk_get.lua", f"/v1/audio-projects/{pid}")
                    if method == "GET"
                    else ("wrk_post.lua", "/v1/ai-voice-generator")
                )
                result = run.run_wrk(server.url + path, script, seconds)
                rss = server.rss_mb()
            finally:
                fake.stop()
                bare.stop()
                (workdir / "bodies.ready").unlink(missing_ok=True)
            stats = pstats.Stats(str(prof))
            pauses = json.loads(gcs.read_text()) if gcs.exists() else []
            outcomes[(kind, method)] = (result, stats, pauses, rss)
            print(f"[profile] {kind} {method}: {result['rps']:.0f} req/s under cProfile, "
                  f"{int(result['requests'])} requests", file=sys.stderr)  # fmt: skip
    for method in ("GET", "POST"):
        (ra, sa, pa, rss_a), (rb, sb, pb, rss_b) = outcomes[("fake", method)], outcomes[("bare", method)]
        na, nb = int(ra["requests"]), int(rb["requests"])
        a, b = per_call(sa, na), per_call(sb, nb)
        print(f"\n## standalone {method}: under cProfile fake {ra['rps']:.0f} req/s, bare {rb['rps']:.0f} req/s")
        print_top(f"standalone {method}, fake: mh_mock + adapter functions by cumulative time (µs/request)", a,
                  only=("mh_mock/", "starlette/requests.py", "starlette/datastructures.py", "jsonschema/"))  # fmt: skip
        print_diff(f"standalone {method}: fake minus bare (cProfile, µs per request)", a, b)
        for kind, pauses, count, rss in (("fake", pa, na, rss_a), ("bare", pb, nb, rss_b)):
            by_gen: dict[int, list[float]] = {}
            for generation, pause in pauses:
                by_gen.setdefault(generation, []).append(pause)
            summary = "; ".join(
                f"gen{g}: {len(v)} collections, median {statistics.median(v) * 1e3:.2f} ms, max {max(v) * 1e3:.2f} ms"
                for g, v in sorted(by_gen.items())
            )
            print(f"\nGC pauses, {kind} {method} ({count} requests, RSS {rss} MB): {summary or 'none'}")
    shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------- memory and GC


def memory(posts: int = 60_000, retained: int = 20_000) -> None:
    """What a standalone fake keeps per request, and how full-collection pauses grow with it.

    Drives the Dispatcher directly (no HTTP) with the standalone configuration.
    """
    import gc
    import time
    import tracemalloc

    from mh_mock.dispatch import Dispatcher, Request
    from mh_mock.engine import Engine
    from mh_mock.server import standalone_config

    def dispatcher() -> Dispatcher:
        return Dispatcher(Engine(standalone_config("http://127.0.0.1:9", starting_balance=10**12)))

    headers = {**run.AUTH, **run.JSON_HEADERS}
    create = Request("POST", "http://x/v1/ai-voice-generator", "/v1/ai-voice-generator", {}, headers, run.POST_BODY)

    d = dispatcher()
    pid = json.loads(d.handle(create).content)["id"]
    d.engine.finish(pid)
    read = Request("GET", f"http://x/v1/audio-projects/{pid}", f"/v1/audio-projects/{pid}", {}, headers, b"")
    print("\n### retained per request (standalone config, journal_limit as configured)\n")
    print(f"journal_limit = {getattr(d.engine.config, 'journal_limit', None)}\n")
    print("| request | bytes retained / request | GC-tracked objects / request |")
    print("|---|---:|---:|")
    for name, request in (("GET project (complete)", read), ("POST create", create)):
        gc.collect()
        objects = len(gc.get_objects())
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(retained):
            d.handle(request)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        grown = len(gc.get_objects()) - objects
        print(f"| {name} | {(after - before) / retained:,.0f} | {grown / retained:.1f} |")

    d = dispatcher()
    pauses: list[tuple[int, float, int]] = []
    started = [0.0]
    served = [0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif info["generation"] == 2:
            pauses.append((served[0], (time.perf_counter() - started[0]) * 1e3, len(gc.get_objects())))

    gc.collect()
    gc.callbacks.append(on_gc)
    try:
        for served[0] in range(posts):
            d.handle(create)
    finally:
        gc.callbacks.remove(on_gc)
    print(f"\n### automatic full (gen2) collections during {posts:,} POST creates\n")
    print("| after request # | pause ms | GC-tracked objects |")
    print("|---:|---:|---:|")
    for at, pause, objects in pauses:
        print(f"| {at:,} | {pause:.1f} | {objects:,} |")


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "micro"
    {"micro": micro, "inprocess": inprocess, "standalone": standalone, "memory": memory}[command]()


if __name__ == "__main__":
    main()
