"""The ``mh-mock`` command: ``serve`` runs the standalone fake; every other subcommand is an
operation of the table (:data:`~mh_mock.control.operations.OPERATIONS`), its arguments derived
from the operation's schema, sent to a running server."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..vocabulary import Progression
from .operations import OPERATIONS, Operation

__all__ = ["build_parser", "main"]


def _json_or_text(text: str) -> Any:
    """A JSON value if ``text`` is one (``[1, 5]``, ``{"a": 1}``, ``3``), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _nullable(convert: Any) -> Any:
    """A converter that also reads ``null`` (sent as JSON null: "every time", "off")."""

    def read(text: str) -> Any:
        return None if text == "null" else convert(text)

    read.__name__ = getattr(convert, "__name__", "value")
    return read


def _argument(schema: dict[str, Any]) -> dict[str, Any]:
    """argparse keywords for a field of this JSON Schema."""
    kinds = schema.get("type")
    nullable = isinstance(kinds, list) and "null" in kinds
    kind = ",".join(k for k in kinds if k != "null") if isinstance(kinds, list) else kinds
    help_text = schema.get("description")
    if "enum" in schema:
        return {"choices": schema["enum"], "type": type(schema["enum"][0]), "help": help_text}
    if kind == "array":
        items = schema.get("items", {})
        return {"action": "append", "choices": items.get("enum"), "help": f"{help_text or 'a value'} (repeatable)"}
    if kind == "boolean":
        return {"action": argparse.BooleanOptionalAction, "help": help_text}
    convert = _CONVERTERS.get(kind or "")
    if convert is None:
        return {"type": _json_or_text, "help": f"{help_text or 'a value'} (text or JSON)"}
    if nullable:
        return {"type": _nullable(convert), "help": help_text or f"a {kind}, or null"}
    return {"type": convert, "help": help_text or (None if kind == "string" else f"a {kind}")}


_CONVERTERS: dict[str, Any] = {"integer": int, "number": float, "string": str}


def _add_operation(commands: argparse._SubParsersAction[argparse.ArgumentParser], op: Operation) -> None:
    if op.command is None:
        return
    sub = commands.add_parser(op.command, help=op.summary, description=f"{op.summary}. Prints the server's answer.")
    _add_target(sub)
    for name in op.path_params:
        sub.add_argument(name, help=f"the {name}")
    fields = {**op.query, **op.body}
    for name in op.positional:
        sub.add_argument(name, **{k: v for k, v in _argument(fields[name]).items() if k != "action"})
    for name, schema in fields.items():
        if name in op.positional:
            continue
        flag = "--" + name.replace("_", "-")
        keywords = _argument(schema)
        if name in op.required:
            keywords["required"] = True
        sub.add_argument(flag, dest=name, default=argparse.SUPPRESS, **keywords)  # unset: not sent
    if op.name == "journal":
        sub.add_argument("--follow", action="store_true", help="keep printing new calls until Ctrl+C")
        sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub.set_defaults(operation=op, fields=list(fields))


def _add_target(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--url", default=os.environ.get("MH_MOCK_URL", "http://127.0.0.1:8000"),
        help="the running server (default: $MH_MOCK_URL or %(default)s)",
    )  # fmt: skip
    sub.add_argument(
        "--admin-token", default=os.environ.get("MH_MOCK_ADMIN_TOKEN"),
        help="the server's admin token, if it has one (default: $MH_MOCK_ADMIN_TOKEN)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every option is explained by ``--help``)."""
    parser = argparse.ArgumentParser(prog="mh-mock", description="A stateful fake of the Magic Hour audio API.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_serve(commands)
    for op in OPERATIONS:
        _add_operation(commands, op)
    return parser


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="run the standalone fake server",
        description="Serve the fake Magic Hour audio API with uvicorn. Point any client at it: the official "
        "SDK with base_url='http://HOST:PORT', curl, or any language. Options not given keep their defaults, "
        "under a --seed file's config.",
    )  # fmt: skip
    add = serve.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default: %(default)s, loopback only)")
    add("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    add(
        "--public-url",
        help="URL clients use to reach the server, put in upload and download URLs "
        "(default: http://HOST:PORT; required when HOST is not loopback); its host is allowed",
    )
    add(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also answer requests for this Host (repeatable; '*' allows any, e.g. in a container); "
        "by default only loopback names and the public URL's host",
    )
    add(
        "--seed",
        metavar="FILE|NAME",
        help="start with the accounts, uploads and projects of a seed file (a JSON "
        "path, or a bundled name: 'examples' reproduces the vendor's mock server, 'every-status' has a project in "
        "each state); reapplied on every reset (default: none)",
    )
    add(
        "--seeds-dir",
        type=Path,
        metavar="DIR",
        help="a directory whose seed files a reset over the admin API may preload (default: bundled seeds only)",
    )
    add(
        "--state",
        type=Path,
        metavar="PATH",
        help="keep all state in this SQLite file and resume from it on restart (default: in memory)",
    )
    add(
        "--state-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long a change may wait for the state file's lock before the call is refused with 503 "
        "(default: %(default)s)",
    )
    add("--random-seed", help="seed for ids and audio: same seed, same ids (default: random)")
    add(
        "--signing-secret",
        default=os.environ.get("MH_MOCK_SIGNING_SECRET"),
        help="key of upload and download URL signatures, 16+ characters (default: $MH_MOCK_SIGNING_SECRET or random)",
    )
    add("--balance", type=int, help="credits of each new account (default: 10000)")
    add(
        "--progression",
        choices=Progression.values(),
        help="what moves jobs on: real time ('clock', the default) or each GET of the project ('poll')",
    )
    add("--queued", type=float, metavar="SECONDS", help="seconds every job stays queued (default: 1)")
    add(
        "--rendering",
        type=float,
        metavar="SECONDS",
        help="seconds every job renders (default: 3 voice, 4 clone, 5 music)",
    )
    add(
        "--frozen-clock",
        action="store_true",
        default=None,
        help="stop time: only the admin API moves the clock (default: the clock follows real time)",
    )
    add(
        "--token",
        action="append",
        type=_token,
        default=[],
        metavar="TOKEN[=CREDITS]",
        help="register an API key up front (repeatable); see --strict-auth",
    )
    add(
        "--strict-auth",
        action="store_true",
        default=None,
        help="accept only tokens registered with --token (default: any token gets an account on its first call)",
    )
    add(
        "--admin-token",
        default=os.environ.get("MH_MOCK_ADMIN_TOKEN"),
        help="require this value in the x-mh-mock-admin-token header of admin calls and in the dashboard "
        "(default: $MH_MOCK_ADMIN_TOKEN, or none)",
    )
    add(
        "--voice-credit-rate",
        help="credits per character of voice prompts (default: 0.1, as the spec; the vendor's tool pages say 0.05)",
    )
    add("--default-outcome", help="how jobs end: complete, canceled, error or error:<code> (default: complete)")
    add(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level (default: %(default)s)",
    )
    add("--access-log", action="store_true", help="log every request (default: off; it costs throughput)")
    add(
        "--http",
        default="auto",
        choices=["auto", "h11", "httptools"],
        help="HTTP parser (default: %(default)s: httptools if installed)",
    )
    add(
        "--loop",
        default="auto",
        choices=["auto", "asyncio", "uvloop"],
        help="event loop (default: %(default)s: uvloop if installed)",
    )
    add(
        "--head-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="drop a connection whose request head is not complete in time (default: %(default)s)",
    )
    add(
        "--max-connections",
        type=int,
        metavar="N",
        help="open connections at most; the oldest stalled one makes room (default: from the file-descriptor limit)",
    )
    serve.set_defaults(operation=None)


def _token(text: str) -> tuple[str, int | None]:
    token, sep, credits = text.partition("=")
    if not token or (sep and not credits.isdigit()):
        raise argparse.ArgumentTypeError(f"expected TOKEN or TOKEN=CREDITS, got {text!r}")
    return token, int(credits) if sep else None


def _serve(args: argparse.Namespace) -> int:
    from ..standalone.app import ServerSettings
    from ..standalone.guard import is_loopback
    from ..standalone.serve import ServeOptions, run

    if args.admin_token is not None and not args.admin_token.strip():
        print("mh-mock: --admin-token must not be empty", file=sys.stderr)
        return 2
    if args.public_url is None and not is_loopback(args.host):
        print(
            f"mh-mock: --host {args.host} is reachable from other machines, and upload and download URLs need "
            f"the address clients use: add --public-url (e.g. --public-url http://my-box:{args.port})",
            file=sys.stderr,
        )
        return 2
    url = (args.public_url or f"http://{f'[{args.host}]' if ':' in args.host else args.host}:{args.port}").rstrip("/")
    settings = ServerSettings(url=url, admin_token=args.admin_token, allowed_hosts=tuple(args.allow_host),
                              seeds_dir=args.seeds_dir, freeze_gc_every=5_000)  # fmt: skip
    options = ServeOptions(
        host=args.host, port=args.port, settings=settings, state=args.state, state_timeout=args.state_timeout,
        log_level=args.log_level,
        access_log=args.access_log, http=args.http, loop=args.loop, head_timeout=args.head_timeout,
        max_connections=args.max_connections,
    )  # fmt: skip
    return run(options, _engine_options(args))


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The engine options the command line gave explicitly (others stay under a seed's config)."""
    given = {
        "seed": args.random_seed, "starting_balance": args.balance, "progression": args.progression,
        "frozen_clock": args.frozen_clock, "strict_auth": args.strict_auth, "voice_credit_rate": args.voice_credit_rate,
        "default_outcome": args.default_outcome, "preload": args.seed, "signing_secret": args.signing_secret,
    }  # fmt: skip
    options = {name: value for name, value in given.items() if value is not None}
    if args.token:
        balance = 10_000 if args.balance is None else args.balance
        options["accounts"] = {token: balance if credits is None else credits for token, credits in args.token}
    if args.queued is not None or args.rendering is not None:
        from ..config import Config

        options["timings"] = {
            endpoint.value: [
                timing.queued if args.queued is None else args.queued,
                timing.rendering if args.rendering is None else args.rendering,
            ]
            for endpoint, timing in Config().timings.items()
        }
    return options


def _run_operation(args: argparse.Namespace) -> int:
    import httpx

    from .remote import ControlError, RemoteControl

    op: Operation = args.operation
    values = {name: getattr(args, name) for name in (*op.path_params, *args.fields) if hasattr(args, name)}
    remote = RemoteControl(args.url, admin_token=args.admin_token)
    try:
        if op.name == "journal" and not args.json:
            return _journal(remote, values, follow=args.follow)
        answer = remote.call(op.name, **values)
    except ControlError as error:
        print(f"mh-mock: {error.message} ({error.status})", file=sys.stderr)
        return 1
    except httpx.TransportError as error:
        print(f"mh-mock: cannot reach {args.url}: {error}. Is `mh-mock serve` running?", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        remote.close()
    if answer is not None:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    return 0


def _journal(remote: Any, values: dict[str, Any], *, follow: bool) -> int:
    """Print the journal as a table; with ``follow``, keep printing new calls every half second."""
    print(f"{'seq':>6}  {'time':<24} {'method':<6} {'route':<24} {'status':>6}  {'token':<14} project / fault")
    since = values.pop("since", None)
    while True:
        calls = remote.call("journal", **values, since=since)
        for call in calls:
            status = str(call["status"]) if call["status"] else "-"
            about = call["project_id"] or ""
            if call["fault"]:
                about = f"{about} fault={call['fault']}".strip()
            print(f"{call['seq']:>6}  {call['at']:<24} {call['method']:<6} {call['route'] or '(no route)':<24} "
                  f"{status:>6}  {call['token'] or '-':<14} {about}", flush=True)  # fmt: skip
            since = call["seq"]
        if not follow:
            return 0
        time.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mh-mock`` console script."""
    args = build_parser().parse_args(argv)
    if args.operation is None:
        return _serve(args)
    return _run_operation(args)
