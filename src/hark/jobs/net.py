"""Outbound HTTP that cannot be steered into the operator's own network, or held open.

Every connection Hark opens for a user-supplied URL (audio_url downloads, webhook
deliveries) resolves the host itself, refuses loopback, private, link-local, CGNAT and
multicast addresses (also when wrapped in an IPv6 address), and then connects to the address
it checked. The check runs per connection, so each redirect hop is checked too, and a DNS
answer cannot change between the check and the connect. Every socket read and write also
honours a whole-operation deadline (`deadline()`), so a peer trickling bytes cannot keep a
worker busy past its budget.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_HINT = (
    "set HARK_ALLOW_PRIVATE_URLS=true to allow it, or allow its network for one project with "
    "`hark keys private-networks`"
)


class ForbiddenAddress(Exception):
    """The URL leads to an address Hark may not contact."""


# Prefixes whose last 32 bits are an IPv4 address a translator or the host stack will reach:
# IPv4-compatible (::/96), IPv4-translated (SIIT, ::ffff:0:0/96) and NAT64's well-known one.
LOW_32_EMBEDDINGS = (
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("::ffff:0:0:0/96"),
    ipaddress.ip_network("64:ff9b::/96"),
)
# NAT64's local-use prefix (RFC 8215) embeds IPv4 at an operator-chosen place: all of it is
# refused, as a translator inside the network would reach the network's own addresses.
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to: mapped, IPv4-compatible, IPv4-translated,
    6to4, Teredo (server and client), NAT64."""
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if any(ip in net for net in LOW_32_EMBEDDINGS):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [v4 for v4 in found if v4 is not None]


def describe_forbidden(ip: IPAddress) -> str | None:
    """Why Hark may not contact this address, or None when it may."""
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in embedded_ipv4(ip):
            if reason := describe_forbidden(inner):
                return reason
        if ip.is_site_local or ip in NAT64_LOCAL:
            return "a private address"
    if ip.is_private or not ip.is_global:
        return "a private address"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses user-supplied URLs may reach: public ones, plus every address when
    `allow_private`, plus the listed networks (e.g. one internal media server)."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, allow_private: bool, networks: Iterable[str] = ()) -> AddressPolicy:
        return cls(allow_private, tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def widened(self, networks: Iterable[str]) -> AddressPolicy:
        """This policy plus a project's own exceptions."""
        extra = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        if not extra:
            return self
        return AddressPolicy(self.allow_private, self.allowed_networks + extra)

    def refusal(self, ip: IPAddress) -> str | None:
        """Why this address is off limits, or None."""
        if self.allow_private or any(ip in net for net in self.allowed_networks):
            return None
        return describe_forbidden(ip)


def where(url: str) -> str:
    """A URL fit for logs: never credentials or a query string (tokens)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    # Zone ids ("fe80::1%eth0") are not part of the address itself.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def checked_addresses(host: str, port: int, policy: AddressPolicy) -> list[IPAddress]:
    """Resolve `host`; refuse it if any of its addresses is off limits."""
    addresses = resolve(host, port)
    for ip in addresses:
        reason = policy.refusal(ip)
        if reason:
            # The name, not what it resolved to: clients may not map the internal network.
            raise ForbiddenAddress(f"{host} is {reason}; {ALLOW_HINT}.")
    return addresses


def check_url(url: str, policy: AddressPolicy) -> None:
    """Refuse a URL up front when its host is a forbidden address literally. Host names are
    not resolved here: whether a name leads inside the network would otherwise show in the
    answer (a forbidden name fails when contacted, exactly like an unreachable one)."""
    host = urlsplit(url).hostname
    if policy.allow_private or not host:
        return
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return
    if reason := policy.refusal(ip):
        raise ForbiddenAddress(f"{host} is {reason}; {ALLOW_HINT}.")


_local = threading.local()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound every socket operation of guarded clients on this thread to `seconds` in all."""
    _local.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.deadline = None


def _remaining(timeout: float | None) -> float | None:
    """The per-operation timeout, shortened to what is left of the thread's deadline."""
    end = getattr(_local, "deadline", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the operation's time budget is spent")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        if "timeout" in kwargs:
            kwargs["timeout"] = _remaining(kwargs["timeout"])
        return _DeadlineStream(self._stream.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, policy: AddressPolicy) -> None:
        self._backend = httpcore.SyncBackend()
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for ip in checked_addresses(host, port, self._policy):
            try:
                return _DeadlineStream(
                    self._backend.connect_tcp(
                        str(ip), port, _remaining(timeout), local_address, socket_options
                    )
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address for {host!r}")

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise ForbiddenAddress("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx transport whose connections go through the address check. TLS still verifies
    the certificate against the URL's host name, not the IP connected to."""

    def __init__(self, policy: AddressPolicy) -> None:
        ssl_context = _ssl_context()
        super().__init__(verify=ssl_context)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, network_backend=_GuardedBackend(policy)
        )


@functools.cache
def _ssl_context() -> Any:
    return httpx.create_ssl_context()  # costly to build; safe to share


def guarded_client(
    policy: AddressPolicy, timeout: httpx.Timeout, max_redirects: int = 0
) -> httpx.Client:
    """A client for user-supplied URLs. Environment proxies are ignored: a proxy would
    connect on our behalf and bypass the check."""
    return httpx.Client(
        transport=GuardedTransport(policy),
        timeout=timeout,
        follow_redirects=max_redirects > 0,
        max_redirects=max_redirects,
        trust_env=False,
    )
