"""The ``mh-mock`` command: ``serve`` runs the standalone fake; every other subcommand is an
operation of the table (:data:`~mh_mock.control.operations.OPERATIONS`) sent to a running server.

Nothing here is written twice: an operation's arguments come from its schemas, and ``serve``'s
flags from the declarations of the server's options (:class:`~mh_mock.standalone.options.ServeOptions`)
and the engine's (:class:`~mh_mock.config.Config`), defaults and help included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .config import DEFAULT_TIMINGS, Config, to_jsonable
from .control.operations import OPERATIONS, Operation
from .optionspec import Declared, declared

__all__ = ["build_parser", "main", "serve_flags"]

_CONVERTERS: dict[str, Any] = {"integer": int, "number": float, "string": str}


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
    if nullable and kind != "string":
        return {"type": _nullable(convert), "help": help_text or f"a {kind}, or null"}
    return {"type": convert, "help": help_text or (None if kind == "string" else f"a {kind}")}


# ---------------------------------------------------------------------------- operations


def _add_operation(commands: argparse._SubParsersAction[argparse.ArgumentParser], op: Operation[Any]) -> None:
    if op.command is None:
        return
    sub = commands.add_parser(op.command, help=op.summary, description=f"{op.summary}. Prints the server's answer.")
    _add_target(sub)
    for name in op.path_params:
        sub.add_argument(name, help=f"the {name}")
    fields = {**op.query_fields, **op.body_fields}
    for name in op.positional:
        sub.add_argument(name, **{k: v for k, v in _argument(fields[name]).items() if k != "action"})
    for name, schema in fields.items():
        if name in op.positional:
            continue
        keywords = _argument(schema)
        if name in op.required:
            keywords["required"] = True
        sub.add_argument("--" + name.replace("_", "-"), dest=name, default=argparse.SUPPRESS, **keywords)
    if op.name == "journal":
        sub.add_argument("--follow", action="store_true", help="keep printing new calls until Ctrl+C")
        sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub.set_defaults(operation=op, fields=list(fields))


def _add_target(sub: argparse.ArgumentParser) -> None:
    # dest names of their own: an operation's own field may be called url (a webhook's) or token
    sub.add_argument(
        "--url",
        dest="server_url",
        metavar="SERVER",
        default=os.environ.get("MH_MOCK_URL", "http://127.0.0.1:8000"),
        help="the running server (default: $MH_MOCK_URL or %(default)s)",
    )
    sub.add_argument(
        "--admin-token",
        dest="server_admin_token",
        metavar="TOKEN",
        default=os.environ.get("MH_MOCK_ADMIN_TOKEN"),
        help="the server's admin token, if it has one (default: $MH_MOCK_ADMIN_TOKEN)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every option is explained by ``--help``)."""
    parser = argparse.ArgumentParser(prog="mh-mock", description="A stateful fake of the Magic Hour audio API.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_serve(commands)
    for op in OPERATIONS:
        _add_operation(commands, op)
    return parser


# ---------------------------------------------------------------------------- serve


def serve_flags() -> list[tuple[Declared, str]]:
    """Every ``serve`` flag that is an option, with its default as ``serve --help`` states it."""
    from .standalone.app import standalone_config
    from .standalone.options import ServeOptions

    profile = standalone_config("http://127.0.0.1:8000")
    found = [(item, _shown(item.default, item.spec.shown_default)) for item in declared(ServeOptions) if item.flag]
    for item in declared(Config):
        if item.flag:
            value = getattr(profile, item.name)  # serve's own defaults (real time, clock progression)
            found.append((item, _shown(value, item.spec.shown_default if value is None else None)))
    return found


def _shown(value: Any, documented: str | None = None) -> str:
    if documented is not None:
        return documented.replace("`", "")
    if value is None or value == ():
        return "none"
    shown = to_jsonable(value)
    return json.dumps(shown) if isinstance(shown, (bool, dict, list)) else str(shown)


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the standalone fake server",
        description="Serve the fake Magic Hour audio API with uvicorn. Point any client at it: the official SDK "
        "with base_url='http://HOST:PORT', curl, or any language. Options not given keep their defaults, under "
        "a --seed file's config. Secrets can come from a file (--admin-token-file, --signing-secret-file), so "
        "they do not show in ps.",
    )
    for item, shown in serve_flags():
        _add_flag(serve, item, shown)
    serve.add_argument(
        "--token",
        dest="tokens",
        action="append",
        type=_token,
        default=[],
        metavar="TOKEN[=CREDITS]",
        help="register an API key up front (repeatable); see --strict-auth",
    )
    first = next(iter(DEFAULT_TIMINGS.values()))
    serve.add_argument(
        "--queued", type=float, metavar="SECONDS", help=f"seconds every job stays queued (default: {first.queued:g})"
    )
    rendering = ", ".join(f"{timing.rendering:g} {endpoint}" for endpoint, timing in DEFAULT_TIMINGS.items())
    serve.add_argument(
        "--rendering", type=float, metavar="SECONDS", help=f"seconds every job renders (default: {rendering})"
    )
    serve.set_defaults(operation=None)


def _add_flag(parser: argparse.ArgumentParser, item: Declared, shown: str) -> None:
    spec = item.spec
    keywords = _argument(dict(spec.schema))
    keywords.pop("help", None)
    if keywords.get("action") == "append":
        keywords["choices"] = None
    env = f"${spec.env} or " if spec.env else ""
    keywords["help"] = f"{spec.help} (default: {env}{shown})".replace("%", "%%")
    default = os.environ.get(spec.env) if spec.env else None
    flag = item.flag
    assert flag is not None
    if keywords.get("action") is not argparse.BooleanOptionalAction:
        keywords["metavar"] = spec.metavar
    parser.add_argument(flag, dest=item.name, default=argparse.SUPPRESS if default is None else default, **keywords)
    if spec.secret:
        parser.add_argument(
            f"{flag}-file",
            dest=f"{item.name}_file",
            type=Path,
            metavar="PATH",
            default=argparse.SUPPRESS,
            help=f"read {flag[2:].replace('-', ' ')} from this file (not shown in ps)",
        )


def _token(text: str) -> tuple[str, int | None]:
    token, sep, credits = text.partition("=")
    if not token or (sep and not credits.isdigit()):
        raise argparse.ArgumentTypeError(f"expected TOKEN or TOKEN=CREDITS, got {text!r}")
    return token, int(credits) if sep else None


def _read_secret(path: Path, flag: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {flag}-file {path}: {getattr(error, 'strerror', None) or error}") from None
    if not text:
        raise ValueError(f"{flag}-file {path} is empty")
    return text


def _given(args: argparse.Namespace, items: Iterable[Declared]) -> dict[str, Any]:
    """The options of ``items`` given on the command line (or their secret files, or the environment)."""
    given: dict[str, Any] = {}
    for item in items:
        if hasattr(args, f"{item.name}_file"):
            given[item.name] = _read_secret(getattr(args, f"{item.name}_file"), item.flag or "")
        elif hasattr(args, item.name):
            value = getattr(args, item.name)
            given[item.name] = tuple(value) if isinstance(value, list) else value
    return given


def _serve(args: argparse.Namespace) -> int:
    from .errors import ConfigError
    from .schema import SchemaValidator
    from .standalone.guard import is_loopback
    from .standalone.options import ServeOptions
    from .standalone.serve import run

    try:
        options = _given(args, declared(ServeOptions))
        engine_options = _engine_options(args, _given(args, declared(Config)))
    except ValueError as error:
        print(f"mh-mock: {error}", file=sys.stderr)
        return 2
    for item in declared(ServeOptions):
        if item.name in options:
            problem = SchemaValidator(item.spec.schema).error(to_jsonable(options[item.name]))
            if problem is not None:
                print(f"mh-mock: {problem.replace('request body', item.flag or item.name, 1)}", file=sys.stderr)
                return 2
    serve = ServeOptions(**options)
    if serve.admin_token is not None and not serve.admin_token.strip():
        print("mh-mock: --admin-token must not be empty", file=sys.stderr)
        return 2
    if serve.public_url is None and not is_loopback(serve.host):
        print(
            f"mh-mock: --host {serve.host} is reachable from other machines, and upload and download URLs need "
            f"the address clients use: add --public-url (e.g. --public-url http://my-box:{serve.port})",
            file=sys.stderr,
        )
        return 2
    try:
        return run(serve, engine_options)
    except ConfigError as error:
        print(f"mh-mock: {error}", file=sys.stderr)
        return 2


def _engine_options(args: argparse.Namespace, given: dict[str, Any]) -> dict[str, Any]:
    """The engine options the command line gave explicitly (others stay under a seed's config)."""
    options = dict(given)
    if args.tokens:
        balance = options.get("starting_balance", Config().starting_balance)
        options["accounts"] = {token: balance if credits is None else credits for token, credits in args.tokens}
    if args.queued is not None or args.rendering is not None:
        options["timings"] = {
            endpoint.value: [
                timing.queued if args.queued is None else args.queued,
                timing.rendering if args.rendering is None else args.rendering,
            ]
            for endpoint, timing in DEFAULT_TIMINGS.items()
        }
    return options


# ---------------------------------------------------------------------------- operations, run


def _run_operation(args: argparse.Namespace) -> int:
    import httpx

    from .control.remote import ControlError, RemoteControl

    op: Operation[Any] = args.operation
    values = {name: getattr(args, name) for name in (*op.path_params, *args.fields) if hasattr(args, name)}
    remote = RemoteControl(args.server_url, admin_token=args.server_admin_token)
    try:
        if op.name == "journal" and not args.json:
            return _journal(remote, values, follow=args.follow)
        answer = remote.call(op.name, **values)
    except ControlError as error:
        hint = " (give it with --admin-token or $MH_MOCK_ADMIN_TOKEN)" if error.status == 403 else ""
        print(f"mh-mock: {error.message} ({error.status}){hint}", file=sys.stderr)
        return 1
    except httpx.TransportError as error:
        print(f"mh-mock: cannot reach {args.server_url}: {error}. Is `mh-mock serve` running?", file=sys.stderr)
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
            route = call["route"] or "(no route)"
            print(
                f"{call['seq']:>6}  {call['at']:<24} {call['method']:<6} {route:<24} {status:>6}  "
                f"{call['token'] or '-':<14} {about}",
                flush=True,
            )
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
