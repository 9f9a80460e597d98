"""Webhook delivery: signed POSTs, retried with backoff, persisted across restarts."""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from hark.metrics import Metrics
from hark.store import Store, WebhookDelivery, utcnow

from .net import AddressPolicy, ForbiddenAddress, deadline, guarded_client, where
from .processes import is_gone, this_process

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "Hark-Timestamp"
SIGNATURE_HEADER = "Hark-Signature"
# The same on every attempt of one delivery: receivers drop the duplicates retries make.
DELIVERY_ID_HEADER = "Hark-Delivery-Id"
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 3600.0
BUSY_RECHECK_SECONDS = 0.2  # every sender busy: how soon to look for free ones again
# Hark's own webhooks, and the callbacks of the Invox API (whose signature is in the body).
USER_AGENTS = {"hark": "Hark-Webhooks/1", "invox": "Invox-Medical-Webhook/1.0"}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 of "<timestamp>.<body>": what Hark-Signature carries."""
    message = f"{timestamp}.".encode() + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookPolicy:
    addresses: AddressPolicy
    timeout: float
    max_attempts: int
    retry_base_seconds: float
    signing_secret: str | None = None

    def retry_delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Exponential backoff with +-20% jitter after `attempts` failed attempts, at least
        what the receiver asked for with Retry-After (within reason)."""
        delay = self.retry_base_seconds * 2 ** (attempts - 1) * random.uniform(0.8, 1.2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return delay


def _receiver(url: str) -> str:
    """Deliveries to one host and port share a receiver's capacity."""
    try:
        return urlsplit(url).netloc.rpartition("@")[2].lower() or url
    except ValueError:
        return url


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max((parsedate_to_datetime(value) - utcnow()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


class WebhookSender:
    """Delivers due webhooks. Any number of senders may run against one database: each
    delivery is leased to one sender per attempt."""

    def __init__(
        self,
        store: Store,
        policy: WebhookPolicy,
        metrics: Metrics | None = None,
        concurrency: int = 1,
    ) -> None:
        self.store = store
        self.policy = policy
        self.metrics = metrics or Metrics()
        # Each attempt is bounded by `policy.timeout` in all, so a lease of a few times that
        # never runs out while its sender is still trying.
        self._lease = timedelta(seconds=policy.timeout * 3 + 30)
        self._owner = this_process()  # a restart on this host can tell its leases are free
        # One client per address policy (projects may have their own URL exceptions).
        self._http: dict[AddressPolicy, httpx.Client] = {}
        # Attempts run `concurrency` at a time, at most `per_receiver` of them to one host:
        # a receiver that hangs holds only its own deliveries back.
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="hark-webhook")
        self._slots = concurrency
        self._per_receiver = max(1, concurrency // 4)
        self._busy: Counter[str] = Counter()  # receiver -> attempts in progress
        self._lock = threading.Lock()
        # Called after each attempt (e.g. to look for due deliveries at once: a retry may
        # be due sooner than the sender would otherwise look).
        self.on_attempted: Callable[[], None] = lambda: None

    def deliver_due(self) -> float | None:
        """Start every delivery whose time has come, as far as there are free senders;
        returns the seconds until it should look again (None: nothing is pending)."""
        while True:
            next_at = self.store.next_webhook_at()  # a cheap read before any write
            if next_at is None or next_at > utcnow():
                return None if next_at is None else (next_at - utcnow()).total_seconds()
            with self._lock:
                free = self._slots - sum(self._busy.values())
            if free <= 0:
                return BUSY_RECHECK_SECONDS
            # Leased deliveries are always being tried (or put back at once), never waiting.
            leased = self.store.due_webhooks(free, self._lease, self._owner)
            if not leased:
                return 0.5  # another sender holds them
            for delivery in leased:
                self._start(delivery)

    def release_abandoned(self, at_start: bool = False) -> None:
        """Retry now what a process of this host that no longer runs was sending (killed
        mid-attempt), rather than when its lease runs out. At start-up, before this sender
        has leased anything, a lease held under its own pid can only be a predecessor's."""
        released = self.store.release_webhooks(lambda holder: is_gone(holder, at_start))
        if released:
            log.warning("retrying %d webhook deliveries a stopped process was sending", released)

    def _start(self, delivery: WebhookDelivery) -> None:
        receiver = _receiver(delivery.url)
        with self._lock:
            if self._busy[receiver] >= self._per_receiver:
                receiver = ""
            else:
                self._busy[receiver] += 1
        if not receiver:  # that receiver is slow to answer: its turn comes again shortly
            self.store.postpone_webhook(delivery.id, utcnow() + timedelta(seconds=1))
            return
        self._pool.submit(self._attempt_then_free, delivery, receiver)

    def _attempt_then_free(self, delivery: WebhookDelivery, receiver: str) -> None:
        try:
            self._attempt(delivery)
        except Exception:  # recording the outcome failed: the lease runs out, then a retry
            log.exception("webhook %s: attempt failed", delivery.id)
        finally:
            with self._lock:
                self._busy[receiver] -= 1
            self.on_attempted()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            clients, self._http = list(self._http.values()), {}
        for client in clients:
            client.close()

    def _client(self, addresses: AddressPolicy) -> httpx.Client:
        with self._lock:  # attempts run in several threads
            if addresses not in self._http:
                timeout = httpx.Timeout(self.policy.timeout)
                self._http[addresses] = guarded_client(addresses, timeout)
            return self._http[addresses]

    def _attempt(self, delivery: WebhookDelivery) -> None:
        body = delivery.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENTS[delivery.kind],
            DELIVERY_ID_HEADER: delivery.id,
        }
        if delivery.header_name and delivery.header_value is not None:
            headers[delivery.header_name] = delivery.header_value
        # The project's own secret and URL exceptions, else the server-wide ones.
        project = self.store.delivery_project(delivery.transcription_id)
        secret = (project and project.webhook_secret) or self.policy.signing_secret
        addresses = self.policy.addresses.widened(
            (project and project.allowed_private_networks) or ()
        )
        if secret:
            timestamp = int(time.time())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        attempt = delivery.attempts + 1
        status_code: int | None = None
        retry_after: float | None = None
        try:
            # Only the status line matters; the receiver's body is never read.
            with (
                deadline(self.policy.timeout),
                self._client(addresses).stream(
                    "POST", delivery.url, content=body, headers=headers
                ) as r,
            ):
                status_code = r.status_code
                retry_after = _retry_after(r)
            error = None if r.is_success else f"HTTP {status_code}"
            retryable = status_code in RETRYABLE
        except ForbiddenAddress as exc:
            error, retryable = f"refused: {exc}", False
        except httpx.TransportError as exc:
            error, retryable = f"{type(exc).__name__}: {exc}", True
        except Exception as exc:  # an unusable URL or header: trying again cannot help
            error, retryable = f"{type(exc).__name__}: {exc}", False
        delivered = error is None
        retry_at: datetime | None = None
        if not delivered and retryable and attempt < self.policy.max_attempts:
            retry_at = utcnow() + timedelta(seconds=self.policy.retry_delay(attempt, retry_after))
        self.store.record_webhook_attempt(delivery.id, status_code, error, retry_at, delivered)
        outcome = "delivered" if delivered else "retrying" if retry_at is not None else "failed"
        self.metrics.webhook_attempted(outcome)
        target = where(delivery.url)
        if delivered:
            log.info(
                "webhook %s for %s delivered to %s", delivery.id, delivery.transcription_id, target
            )
        elif retry_at is not None:
            log.info(
                "webhook %s to %s: attempt %d failed (%s); retrying at %s",
                delivery.id,
                target,
                attempt,
                error,
                retry_at.isoformat(timespec="seconds"),
            )
        else:
            log.warning(
                "webhook %s to %s: giving up after attempt %d (%s)",
                delivery.id,
                target,
                attempt,
                error,
            )
