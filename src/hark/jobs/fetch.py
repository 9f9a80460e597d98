"""Download an audio_url into the audio storage, within the limits a server needs."""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx

from hark.blobs import BlobStore, BlobWriter
from hark.engine import EngineError

from .net import AddressPolicy, ForbiddenAddress, deadline, guarded_client, where

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
# Servers that answer with a web page (a login wall, a 200 "not found" page) instead of audio.
NOT_AUDIO_TYPES = ("text/", "application/json", "application/xml", "application/xhtml")
UNREACHABLE = (
    "Could not fetch audio_url: its host could not be reached, or is one this server may "
    "not contact."
)


def filename_from_url(url: str) -> str:
    """The last path segment of the URL, else its host: what a Transcription shows."""
    parts = urlsplit(url)
    name = PurePosixPath(unquote(parts.path)).name.strip()
    return (name or parts.hostname or "audio")[:1024]


@dataclass(frozen=True)
class FetchLimits:
    max_size: int
    total_seconds: float
    max_redirects: int
    addresses: AddressPolicy


def _error(kind: str, message: str) -> EngineError:
    return EngineError(f"audio_url_{kind}", message)


def fetch_into(url: str, blobs: BlobStore, limits: FetchLimits) -> str:
    """Stream `url` into a new blob (so that any worker can read it); its key. Nothing is
    left behind when the download fails."""
    writer = blobs.open_writer(limits.max_size)
    try:
        _download(url, writer, limits)
    except OSError as exc:
        writer.abort()
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        log.error("audio_url %s not fetched: %s", where(url), exc)
        raise _error(
            "insufficient_storage",
            "The server has no space left to store this audio while fetching it.",
        ) from None
    except BaseException:
        writer.abort()
        raise
    return writer.commit()


def _download(url: str, out: BlobWriter, limits: FetchLimits) -> None:
    per_phase = min(30.0, limits.total_seconds)
    timeout = httpx.Timeout(per_phase, connect=min(10.0, per_phase))
    try:
        with (
            deadline(limits.total_seconds),  # every socket operation, headers included
            guarded_client(limits.addresses, timeout, limits.max_redirects) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise _error(
                    "http_error",
                    f"Fetching audio_url failed: the server answered HTTP "
                    f"{response.status_code} {response.reason_phrase}.",
                )
            content_type = response.headers.get("content-type", "").lower()
            if content_type.startswith(NOT_AUDIO_TYPES):
                raise _error(
                    "not_audio", f"audio_url returned {content_type.split(';')[0]}, not audio."
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limits.max_size:
                raise _too_large(limits.max_size)
            received = 0
            for chunk in response.iter_bytes(CHUNK):
                received += len(chunk)
                if received > limits.max_size:
                    raise _too_large(limits.max_size)
                out.write(chunk)
    except (ForbiddenAddress, httpx.ConnectError, httpx.ConnectTimeout) as exc:
        # One answer whether the address is off limits, closed or silent, so that callers
        # cannot map the internal network through job errors; the log has the reason.
        log.info("audio_url %s not fetched: %s", where(url), exc)
        raise _error("unreachable", UNREACHABLE) from None
    except httpx.TooManyRedirects:
        raise _error(
            "too_many_redirects",
            f"audio_url redirected more than {limits.max_redirects} times.",
        ) from None
    except httpx.TimeoutException:
        raise _timeout(limits.total_seconds) from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL, ValueError) as exc:
        raise _error("invalid", f"audio_url is not a valid URL: {exc}") from None
    except httpx.HTTPError as exc:
        log.info("audio_url %s not fetched: %s: %s", where(url), type(exc).__name__, exc)
        raise _error("unreachable", UNREACHABLE) from None


def _too_large(limit: int) -> EngineError:
    return _error("too_large", f"The audio at audio_url is larger than the {limit}-byte limit.")


def _timeout(seconds: float) -> EngineError:
    return _error("timeout", f"Fetching audio_url took longer than {seconds:g} s.")
