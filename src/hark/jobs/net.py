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
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

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


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    # Zone ids ("fe80::1%eth0") are not part of the address itself.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def checked_addresses(host: str, port: int, allow_private: bool) -> list[IPAddress]:
    """Resolve `host`; refuse it if any of its addresses is off limits."""
    addresses = resolve(host, port)
    if not allow_private:
        for ip in addresses:
            reason = describe_forbidden(ip)
            if reason:
                shown = host if host == str(ip) else f"{host} ({ip})"
                raise ForbiddenAddress(f"{shown} is {reason}; {ALLOW_HINT}.")
    return addresses


def check_url(url: str, allow_private: bool) -> None:
    """Refuse a URL up front when its host is (or resolves to) a forbidden address.
    An unresolvable host passes here; it fails when contacted."""
    parts = urlsplit(url)
    if allow_private or not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with contextlib.suppress(httpcore.ConnectError):
        checked_addresses(parts.hostname, port, allow_private=False)


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, allow_private: bool) -> None:
        self._backend = httpcore.SyncBackend()
        self._allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for ip in checked_addresses(host, port, self._allow_private):
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

    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=_GuardedBackend(allow_private),
        )


def guarded_client(
    allow_private: bool, timeout: httpx.Timeout, max_redirects: int = 0
) -> httpx.Client:
    """A client for user-supplied URLs. Environment proxies are ignored: a proxy would
    connect on our behalf and bypass the check."""
    return httpx.Client(
        transport=GuardedTransport(allow_private),
        timeout=timeout,
        follow_redirects=max_redirects > 0,
        max_redirects=max_redirects,
        trust_env=False,
    )
