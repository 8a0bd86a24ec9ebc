"""What the standalone server trusts: which ``Host`` it answers, and which browser pages may write.

The server runs beside a browser. A web page can send it requests (CSRF), and with DNS
rebinding can even read the answers, unless the server refuses a ``Host`` that is not its own
and refuses writes from another origin. :class:`HostGuard` holds those rules:

* ``Host`` must be loopback (``127.0.0.1``, ``localhost``, ``[::1]``), the public URL's host, or
  one the owner allowed (``--allow-host``; ``*`` allows any, for containers);
* a request that carries an ``Origin`` (or ``Sec-Fetch-Site``) from another origin may not change
  anything, and may not touch the admin API at all. Non-browser clients send neither header.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

__all__ = ["HostGuard", "is_loopback"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (brackets around IPv6 allowed)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_host(value: str) -> str:
    """The host name of a ``Host`` header value (port and IPv6 brackets removed)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostGuard:
    """The Host and Origin rules of one server."""

    def __init__(self, allowed_hosts: Iterable[str] = (), public_url: str | None = None) -> None:
        hosts = {_split_host(h) for h in allowed_hosts if h}
        if public_url:
            hosts.add((urlsplit(public_url).hostname or "").lower())
        self.any_host = "*" in hosts
        self.allowed = frozenset(hosts - {"*", ""})
        self.host_problem = functools.lru_cache(maxsize=512)(self._host_problem)
        """Why a request with this ``Host`` is refused, or None (cached: clients repeat their Host)."""

    def _host_problem(self, host: str | None) -> str | None:
        if self.any_host:
            return None
        if not host:
            return "the request has no Host header"
        name = _split_host(host)
        if is_loopback(name) or name in self.allowed:
            return None
        return (
            f"mh-mock does not answer for Host {host!r} (a page using DNS rebinding could read it); "
            f"start it with --allow-host {name} or --public-url to allow it"
        )

    def origin_problem(self, headers: Mapping[str, str], *, admin: bool, method: str) -> str | None:
        """Why a browser request from another origin is refused, or None.

        Admin calls accept only same-origin requests (the dashboard); other writes likewise.
        """
        if not admin and method in ("GET", "HEAD"):
            return None
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return f"mh-mock refuses {site} requests from a web page to {'its admin API' if admin else 'change state'}"
        origin = headers.get("origin")
        if origin is None:
            return None
        parts = urlsplit(origin)
        if origin != "null" and parts.netloc.lower() == (headers.get("host") or "").lower():
            return None
        what = "its admin API" if admin else "change state"
        return f"mh-mock refuses requests from the web page at {origin} to {what} (a page must not steer the fake)"
