"""Inclusive time under one function of a raw py-spy profile, split by its callees (main thread).

    python3 bench/profile/drill.py PROFILE.txt ANCHOR [--depth 2] [--us-per-req US] [--min 0.3]
    python3 bench/profile/drill.py /tmp/profile-after/fake-post.txt Dispatcher._api --depth 3

PROFILE.txt is one of the raw collapsed-stack files run_profile.py writes to its OUT directory.

ANCHOR is a function name as py-spy prints it (``Dispatcher._api``, ``FakeApp._dispatch``, ...),
matched on the frame's function (line numbers ignored; the outermost occurrence counts). Each
callee line is its inclusive share of all main-thread samples and, with ``--us-per-req``, that
share times US (e.g. the CPU or wall µs per request the analysis scaled by). Stdlib only.
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def strip(frame: str) -> str:
    match = FRAME.match(frame)
    return f"{match['func']} ({match['file']})" if match else frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path)
    parser.add_argument("anchor")
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--us-per-req", type=float, default=None)
    parser.add_argument("--min", type=float, default=0.3, help="hide lines under this %% of the main thread")
    args = parser.parse_args()
    total = 0
    tree: collections.Counter[tuple[str, ...]] = collections.Counter()
    for line in args.profile.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        parts = stack.split(";")
        if "MainThread" not in parts[0]:
            continue
        n = int(count)
        total += n
        frames = [strip(p) for p in parts[1:]]
        index = next((i for i, f in enumerate(frames) if f.split(" (")[0] == args.anchor), None)
        if index is None:
            continue
        below = frames[index + 1 : index + 1 + args.depth]
        for level in range(len(below) + 1):
            tree[tuple(below[:level])] += n
        if len(below) < args.depth:
            tree[(*below, "(self)")] += n

    def show(prefix: tuple[str, ...]) -> None:
        children = sorted(
            (k for k in tree if len(k) == len(prefix) + 1 and k[: len(prefix)] == prefix), key=lambda k: -tree[k]
        )
        for child in children:
            share = tree[child] / total * 100
            if share < args.min:
                continue
            us = f"{tree[child] / total * args.us_per_req:7.1f} µs  " if args.us_per_req else ""
            print(f"{us}{share:5.1f} %  {'  ' * len(prefix)}{child[-1]}")
            if child[-1] != "(self)":
                show(child)

    root = tree[()]
    us = f"{root / total * args.us_per_req:7.1f} µs  " if args.us_per_req else ""
    print(f"{us}{root / total * 100:5.1f} %  {args.anchor} (inclusive; {total:,} main-thread samples)")
    show(())


if __name__ == "__main__":
    main()
