"""Outbound HTTP that cannot be steered into the operator's own network.

Every connection Hark opens for a user-supplied URL (audio_url downloads, webhook
deliveries) resolves the host itself, refuses loopback, private, link-local, CGNAT and
multicast addresses, and then connects to the address it checked. The check runs per
connection, so each redirect hop is checked too, and a DNS answer cannot change between
the check and the connect.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_HINT = "set HARK_ALLOW_PRIVATE_URLS=true to allow it"


class ForbiddenAddress(Exception):
    """The URL leads to an address Hark may not contact."""


def describe_forbidden(ip: IPAddress) -> str | None:
    """Why Hark may not contact this address, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
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

    def refusal(self, ip: IPAddress) -> str | None:
        """Why this address is off limits, or None."""
        if self.allow_private or any(ip in net for net in self.allowed_networks):
            return None
        return describe_forbidden(ip)


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
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise ForbiddenAddress(f"{shown} is {reason}; {ALLOW_HINT}.")
    return addresses


def check_url(url: str, policy: AddressPolicy) -> None:
    """Refuse a URL up front when its host is (or resolves to) a forbidden address.
    An unresolvable host passes here; it fails when contacted."""
    parts = urlsplit(url)
    if policy.allow_private or not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with contextlib.suppress(httpcore.ConnectError):
        checked_addresses(parts.hostname, port, policy)


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
                return self._backend.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
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
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=_GuardedBackend(policy),
        )


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
