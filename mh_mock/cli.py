"""The ``mh-mock`` command: ``mh-mock serve`` runs the standalone fake on uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence

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
    return parser


def serve(args: argparse.Namespace) -> int:
    """Run uvicorn until interrupted."""
    import uvicorn

    from .config import Endpoint, Timing
    from .engine import Engine
    from .server import create_app, standalone_config

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
        engine = Engine(standalone_config(url, **options))
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
    uvicorn.run(create_app(engine), host=args.host, port=args.port, log_level=args.log_level)
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
    raise AssertionError(f"unhandled command {args.command}")  # argparse rejects others
