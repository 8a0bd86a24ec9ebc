"""The ``mh-mock`` command: ``mh-mock serve`` runs the standalone fake on uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import httpx

from .faults import FAULT_KINDS

__all__ = ["build_parser", "main"]


def _token(text: str) -> tuple[str, int | None]:
    token, sep, credits = text.partition("=")
    if not token or (sep and not credits.isdigit()):
        raise argparse.ArgumentTypeError(f"expected TOKEN or TOKEN=CREDITS, got {text!r}")
    return token, int(credits) if sep else None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every option is explained by ``--help``)."""
    parser = argparse.ArgumentParser(prog="mh-mock", description="A stateful fake of the Magic Hour audio API.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the standalone fake server",
        description="Serve the fake Magic Hour audio API with uvicorn. Point any client at it: "
        "the official SDK with base_url='http://HOST:PORT', curl, or any language.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s, loopback only)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    serve.add_argument(
        "--public-url",
        help="base URL clients use to reach the server, for upload and download URLs (default: http://HOST:PORT)",
    )
    serve.add_argument(
        "--seed", metavar="FILE|NAME",
        help="start with the accounts, uploads and projects of a seed file (a JSON path, or a bundled "
        "name: 'examples' reproduces the vendor's mock server, 'every-status' has a project in each state); "
        "reapplied on every reset",
    )  # fmt: skip
    serve.add_argument(
        "--state", metavar="PATH",
        help="keep all state in this SQLite file and resume from it on restart (default: in memory)",
    )  # fmt: skip
    serve.add_argument("--random-seed", help="seed for ids, URL signatures and audio: same seed, same run")
    serve.add_argument("--balance", type=int, default=10_000, help="credits of each new account (default: %(default)s)")
    serve.add_argument(
        "--progression", choices=["clock", "poll"], default="clock",
        help="what moves jobs on: real time ('clock', default) or each GET of the project ('poll')",
    )  # fmt: skip
    serve.add_argument("--queued", type=float, metavar="SECONDS", help="seconds every job stays queued (default: 1)")
    serve.add_argument(
        "--rendering", type=float, metavar="SECONDS",
        help="seconds every job renders (default: 3 voice, 4 clone, 5 music)",
    )  # fmt: skip
    serve.add_argument("--frozen-clock", action="store_true", help="stop time: only the admin API moves the clock")
    serve.add_argument(
        "--token", action="append", type=_token, default=[], metavar="TOKEN[=CREDITS]",
        help="register an API key up front (repeatable); see --strict-auth",
    )  # fmt: skip
    serve.add_argument("--strict-auth", action="store_true", help="accept only tokens registered with --token")
    serve.add_argument("--admin-token", help="require this value in the x-mh-mock-admin-token header of admin calls")
    serve.add_argument(
        "--voice-credit-rate", default="0.1",
        help="credits per character of voice prompts (spec: 0.1; the vendor's tool pages say 0.05)",
    )  # fmt: skip
    serve.add_argument(
        "--default-outcome", default="complete",
        help="how jobs end: complete, canceled, error or error:<code> (default: %(default)s)",
    )  # fmt: skip
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    _add_control_commands(commands)
    return parser


def _add_control_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Subcommands that drive a running server through its admin API; each prints JSON."""

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=f"{help_text}. Prints the server's JSON answer.")
        sub.add_argument(
            "--url", default=os.environ.get("MH_MOCK_URL", "http://127.0.0.1:8000"),
            help="the running server (default: $MH_MOCK_URL or %(default)s)",
        )  # fmt: skip
        sub.add_argument(
            "--admin-token", default=os.environ.get("MH_MOCK_ADMIN_TOKEN"),
            help="the server's admin token, if it has one (default: $MH_MOCK_ADMIN_TOKEN)",
        )  # fmt: skip
        return sub

    command("state", "show the clock, progression mode and counters")
    reset = command("reset", "forget all state (a seed file is reapplied)")
    reset.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="config option until the next reset, e.g. starting_balance=5",
    )
    command("advance", "move the clock forward").add_argument("seconds", type=float, help="seconds to advance")
    command("progression", "choose what moves jobs on").add_argument("mode", choices=["clock", "poll"])
    command("projects", "list projects with owner and timeline").add_argument("--token", help="only this token's")
    command("project", "show one project without counting a poll").add_argument("id")
    command("finish", "run one project (or every unfinished one) to its end").add_argument("id", nargs="?")
    command("cancel", "cancel a queued or rendering project, as the web app does").add_argument("id")
    force = command("force", "move a project to a status now")
    force.add_argument("id")
    force.add_argument("status", choices=["rendering", "complete", "error", "canceled"])
    force.add_argument("--code", help="error code (status error)")
    force.add_argument("--message", help="error message (status error)")
    fail = command("fail-next", "make the next N jobs end in error")
    fail.add_argument("count", type=int)
    fail.add_argument("--code", default="unknown_error", help="job error code (default: %(default)s)")
    fail.add_argument(
        "--endpoint", choices=["voice_generator", "voice_cloner", "music_generator"], help="only jobs of this endpoint"
    )
    fail.add_argument("--token", help="only jobs of this token")
    randomly = command("fail-randomly", "seeded soak mode: a fraction of new jobs fails")
    randomly.add_argument("ratio", type=float, help="between 0 and 1")
    randomly.add_argument(
        "--code", action="append", dest="codes", help="codes to draw from (repeatable; default: the audio catalogue)"
    )
    command("scenarios", "list outcome rules and the random mode")
    command("clear-scenarios", "drop every outcome rule and the random mode")
    fault = command("fault", "inject an HTTP fault")
    fault.add_argument("kind", choices=list(FAULT_KINDS))
    fault.add_argument("--route", help="route name such as projects.get, or a prefix with * (storage.*)")
    fault.add_argument("--project-id")
    fault.add_argument("--token")
    fault.add_argument("--nth", type=int, help="strike on the n-th matching call only")
    fault.add_argument("--times", type=int, default=1, help="how many times it strikes (0: every match; default 1)")
    fault.add_argument("--probability", type=float)
    fault.add_argument("--status", type=int, default=500, choices=[500, 502, 503], help="server_error status")
    fault.add_argument("--retry-after", type=int, default=1, help="rate_limit Retry-After seconds")
    fault.add_argument("--seconds", type=float, default=0.0, help="latency to add, or how long a timeout stalls")
    fault.add_argument("--after", action="store_true", help="reset/timeout after the fake handled the call")
    command("faults", "list faults waiting to strike")
    command("clear-faults", "drop every fault")
    webhook = command("webhook", "register a webhook endpoint")
    webhook.add_argument("webhook_url", metavar="URL")
    webhook.add_argument("--secret", required=True)
    webhook.add_argument(
        "--event", action="append", dest="events", choices=["audio.started", "audio.completed", "audio.errored"]
    )
    command("deliveries", "list webhook deliveries and their attempts")
    command("journal", "list every API and storage call the server answered")
    balance = command("balance", "set the credits of a token's account")
    balance.add_argument("token")
    balance.add_argument("credits", type=int)


def _control(args: argparse.Namespace) -> int:
    """Run one control subcommand against ``args.url``."""
    from .control import ControlError, RemoteControl

    remote = RemoteControl(args.url, admin_token=args.admin_token)
    actions: dict[str, Any] = {
        "state": lambda: remote.state(),
        "reset": lambda: remote.reset(**{k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}),
        "advance": lambda: remote.advance(args.seconds),
        "progression": lambda: remote.set_progression(args.mode),
        "projects": lambda: remote.projects(args.token),
        "project": lambda: remote.project(args.id),
        "finish": lambda: remote.finish(args.id),
        "cancel": lambda: remote.cancel(args.id),
        "force": lambda: remote.force(args.id, args.status, code=args.code, message=args.message),
        "fail-next": lambda: remote.fail_next(
            args.count, args.code, endpoint=args.endpoint, **({"token": args.token} if args.token else {})
        ),
        "fail-randomly": lambda: remote.fail_randomly(args.ratio, args.codes),
        "scenarios": lambda: remote.scenarios(),
        "clear-scenarios": lambda: remote.clear_scenarios(),
        "fault": lambda: remote.add_fault(
            args.kind,
            route=args.route,
            project_id=args.project_id,
            token=args.token,
            nth=args.nth,
            times=args.times or None,
            probability=args.probability,
            status=args.status,
            retry_after=args.retry_after,
            seconds=args.seconds,
            after=args.after,
        ),
        "faults": lambda: remote.faults(),
        "clear-faults": lambda: remote.clear_faults(),
        "webhook": lambda: remote.add_webhook(args.webhook_url, args.secret, args.events),
        "deliveries": lambda: remote.deliveries(),
        "journal": lambda: _journal_rows(remote),
        "balance": lambda: remote.set_balance(args.token, args.credits),
    }
    try:
        answer = actions[args.command]()
    except ControlError as error:
        print(f"mh-mock: {error.message} ({error.status})", file=sys.stderr)
        return 1
    except httpx.TransportError as error:
        print(f"mh-mock: cannot reach {args.url}: {error}. Is `mh-mock serve` running?", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as error:
        print(f"mh-mock: {error}", file=sys.stderr)
        return 2
    finally:
        remote.close()
    if answer is not None:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    return 0


def _journal_rows(remote: Any) -> list[str]:
    return [str(call) for call in remote.journal]


def serve(args: argparse.Namespace) -> int:
    """Run uvicorn until interrupted."""
    import uvicorn

    from .config import Endpoint, Timing
    from .engine import Engine
    from .server import create_app, standalone_config
    from .store import Store

    url = (args.public_url or f"http://{_url_host(args.host)}:{args.port}").rstrip("/")
    options: dict[str, object] = {
        "seed": args.random_seed,
        "starting_balance": args.balance,
        "progression": args.progression,
        "frozen_clock": args.frozen_clock,
        "strict_auth": args.strict_auth,
        "admin_token": args.admin_token,
        "voice_credit_rate": args.voice_credit_rate,
        "default_outcome": args.default_outcome,
        "accounts": {token: args.balance if credits is None else credits for token, credits in args.token},
        "preload": args.seed,
    }
    if args.queued is not None or args.rendering is not None:
        base = standalone_config(url).timings
        options["timings"] = {
            e: Timing(
                base[e].queued if args.queued is None else args.queued,
                base[e].rendering if args.rendering is None else args.rendering,
            )
            for e in Endpoint
        }
    try:
        store = Store(args.state) if args.state else None
        engine = Engine(standalone_config(url, **options), store=store)
    except (ValueError, TypeError) as error:
        print(f"mh-mock: {error}", file=sys.stderr)
        return 2
    if not _is_loopback(args.host):
        print(
            f"mh-mock: warning: listening on {args.host}, reachable from other machines. "
            "The fake has no real security; bind 127.0.0.1 unless you mean it.",
            file=sys.stderr,
        )
    print(
        f"mh-mock: serving the Magic Hour audio API fake at {url} (admin API: {url}/mh-mock-api/state)", file=sys.stderr
    )
    try:
        uvicorn.run(create_app(engine, freeze_gc_every=5_000), host=args.host, port=args.port, log_level=args.log_level)
    finally:
        engine.close()
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mh-mock`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return _control(args)
