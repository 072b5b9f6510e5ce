"""The pure rules of ``salesml serve``'s protection: who may connect and how much they may use.

No tornado, Voila or widget imports: :mod:`salesml.apps.voila_app` applies these
rules to requests and websockets, and the tests check them directly.

- :func:`allowed_hostnames` and :func:`host_allowed`: the ``Host`` header must name
  this machine (DNS rebinding sends the attacker's own name). An IP literal cannot be
  rebound, so it is accepted when it is loopback, the bound address, or any address
  when the server listens on every interface; a name must be in the allow list
  (``localhost`` and the names given with ``--allow-host``; the machine's own names
  too when bound beyond loopback).
- :func:`origin_allowed`: a websocket's ``Origin`` (when a browser sends one) must be
  the page's own host, itself allowed.
- :class:`KernelLimits`: at most ``max_total`` kernels serving viewers and at most
  ``max_per_client`` per remote address; a request beyond is refused before a kernel
  starts.
- :class:`TokenBucket`: a message-rate bound for each kernel websocket.
- :func:`generate_token`: the random token the URLs carry by default.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = [
    "LOCAL_HOSTNAMES",
    "V1_PROTOCOL",
    "KernelLimits",
    "TokenBucket",
    "allowed_hostnames",
    "generate_token",
    "host_allowed",
    "is_loopback_bind",
    "origin_allowed",
    "split_host",
]

#: Names of this machine that are always accepted in the ``Host`` header.
LOCAL_HOSTNAMES: frozenset[str] = frozenset({"localhost", "localhost.localdomain"})
#: The kernel websocket subprotocol whose messages the server forwards without
#: decoding them (the legacy subprotocol-less JSON protocol is refused).
V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
_WILDCARD = {"", "0.0.0.0", "::", "*"}
_HOSTNAME = re.compile(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def generate_token() -> str:
    """A fresh random token for the URLs (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def is_loopback_bind(bind: str) -> bool:
    """Whether the server listens on this machine only (``127.0.0.1``, ``::1``, ``localhost``)."""
    if bind.lower() in LOCAL_HOSTNAMES:
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False


def split_host(host: str) -> str:
    """The lower-case host name of a ``Host`` header or netloc, without port or IPv6 brackets.

    >>> split_host("LocalHost:8866"), split_host("[::1]:80"), split_host("10.0.0.2")
    ('localhost', '::1', '10.0.0.2')
    """
    h = host.strip().lower()
    if h.startswith("["):
        end = h.find("]")
        return h[1:end] if end > 0 else h
    if h.count(":") == 1:
        h = h.split(":", 1)[0]
    return h.rstrip(".")


def allowed_hostnames(bind: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names the ``Host`` header may carry for a server bound to ``bind``.

    Parameters
    ----------
    bind
        The address the server listens on.
    extra
        Names given with ``--allow-host`` (for example the machine's DNS name or
        the name a reverse proxy forwards).

    Raises
    ------
    ValueError
        If an extra name is not a host name (``*`` and patterns are not accepted:
        allowing every name would re-open DNS rebinding).
    """
    names = set(LOCAL_HOSTNAMES)
    for raw in extra:
        name = split_host(str(raw))
        if not name:
            continue
        if not _HOSTNAME.match(name):
            try:
                ipaddress.ip_address(name)
            except ValueError:
                raise ValueError(f"--allow-host {raw!r} is not a host name") from None
        names.add(name)
    if not is_loopback_bind(bind):
        if bind.lower() not in _WILDCARD:
            names.add(split_host(bind))
        for own in (socket.gethostname(), socket.getfqdn()):
            if own:
                names.add(own.lower().rstrip("."))
    return frozenset(names)


def host_allowed(host: str | None, bind: str, names: frozenset[str]) -> bool:
    """Whether a request's ``Host`` header names this server.

    Parameters
    ----------
    host
        The ``Host`` header (``None`` or empty is refused: every HTTP/1.1 client sends one).
    bind
        The address the server listens on.
    names
        :func:`allowed_hostnames` of the server.
    """
    if not host:
        return False
    name = split_host(host)
    try:
        addr = ipaddress.ip_address(name)
    except ValueError:
        return name in names
    if addr.is_loopback:
        return True
    if bind.lower() in _WILDCARD:
        return True  # listening everywhere: any address of this machine reached us
    try:
        return addr == ipaddress.ip_address(split_host(bind))
    except ValueError:
        return name in names


def origin_allowed(origin: str | None, host: str | None, bind: str, names: frozenset[str]) -> bool:
    """Whether a websocket's ``Origin`` may talk to this server.

    A browser always sends ``Origin`` on a websocket; it must be the page's own
    server (the same host and port as ``Host``), and that host must be allowed. A
    client without ``Origin`` is a script, not a page another site could drive: it
    is let through (the token still applies).
    """
    if origin is None:
        return True
    parts = urlsplit(origin.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.netloc or not host:
        return False
    if parts.netloc != host.strip().lower():
        return False
    return host_allowed(host, bind, names)


@dataclass
class KernelLimits:
    """Kernels per server and per client: the bookkeeping, without a server.

    A request calls :meth:`admit` (which reserves a slot or says why not), the
    kernel it gets is recorded with :meth:`bind`, and the reservation is returned
    with :meth:`release` when the page is written. :meth:`prune` forgets kernels
    that are gone (culled, shut down, dead). A reservation never returned (a request
    that hung) lapses after ``reservation_ttl`` seconds, so it cannot lock a client
    out for good.

    Parameters
    ----------
    max_total
        Kernels serving viewers at once (0: no limit). Pre-heated spares waiting
        for a visitor are not counted: there is a fixed number of them per app.
    max_per_client
        Kernels one remote address may hold (0: no limit).
    reservation_ttl
        Seconds a reservation lasts without :meth:`release`.
    clock
        Seconds, monotonic (injectable for tests).
    """

    max_total: int = 8
    max_per_client: int = 3
    reservation_ttl: float = 300.0
    clock: Callable[[], float] = time.monotonic
    owners: dict[str, str] = field(default_factory=dict)
    pending: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("max_total", "max_per_client"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")

    def _lapse(self) -> None:
        cutoff = self.clock() - self.reservation_ttl
        for client in list(self.pending):
            kept = [t for t in self.pending[client] if t > cutoff]
            if kept:
                self.pending[client] = kept
            else:
                del self.pending[client]

    def count(self, client: str | None = None) -> int:
        """Kernels (and reservations) held by ``client``, or by everyone when ``None``."""
        self._lapse()
        if client is None:
            return len(self.owners) + sum(len(v) for v in self.pending.values())
        held = sum(1 for c in self.owners.values() if c == client)
        return held + len(self.pending.get(client, ()))

    def admit(self, client: str) -> str | None:
        """Reserve a kernel slot for ``client``; ``None`` when admitted, else the reason.

        The reason is ``"client"`` (this address holds ``max_per_client``) or
        ``"server"`` (the server holds ``max_total``).
        """
        if self.max_per_client and self.count(client) >= self.max_per_client:
            return "client"
        if self.max_total and self.count() >= self.max_total:
            return "server"
        self.pending.setdefault(client, []).append(self.clock())
        return None

    def release(self, client: str) -> None:
        """Return the oldest reservation made by :meth:`admit` for ``client``."""
        held = self.pending.get(client)
        if held:
            held.pop(0)
            if not held:
                del self.pending[client]

    def bind(self, kernel_id: str, client: str) -> None:
        """Record that ``client``'s page runs on ``kernel_id``."""
        self.owners[kernel_id] = client

    def forget(self, kernel_id: str) -> None:
        """A kernel was shut down."""
        self.owners.pop(kernel_id, None)

    def prune(self, alive: Iterable[str]) -> None:
        """Forget every kernel not in ``alive`` (the kernel manager's current ids)."""
        keep = set(alive)
        for kid in [k for k in self.owners if k not in keep]:
            del self.owners[kid]


class TokenBucket:
    """A rate bound: ``rate`` events per second on average, bursts up to ``burst``.

    Parameters
    ----------
    rate
        Tokens added per second.
    burst
        Capacity of the bucket (and its initial content).
    clock
        Seconds, monotonic (injectable for tests).
    """

    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got {rate}, {burst}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def take(self, n: float = 1.0) -> bool:
        """Take ``n`` tokens if there are enough; ``False`` (nothing taken) otherwise."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= n:
            self._tokens -= n
            return True
        return False
