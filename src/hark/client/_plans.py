"""Every client operation as a plan (see `_core`): request building, parsing and multi-step
logic, written once for both the sync and the async client."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from pydantic import BaseModel

from ._core import (
    Emit,
    Plan,
    Request,
    Sleep,
    call,
    call_no_content,
    checked,
    idempotency_headers,
    validated,
)
from .errors import HarkAPIError, HarkNotFoundError, HarkValidationError
from .types import (
    Count,
    CreateTemporaryApiKeyPayload,
    CreateTranscriptionConfig,
    CreateTranscriptionPayload,
    CreateUploadUrlPayload,
    File,
    FileList,
    ListParams,
    ModelList,
    TemporaryApiKey,
    Transcript,
    Transcription,
    TranscriptionList,
    UploadUrl,
)

DEFAULT_MODEL = "stt-async-v5"
FileInput = BinaryIO | bytes | bytearray | Path | str
ProgressCallback = Callable[[Transcription], None]
Config = CreateTranscriptionConfig | Mapping[str, Any] | None


def as_config(config: Config) -> CreateTranscriptionConfig | None:
    """A config as a CreateTranscriptionConfig (a dict of the same fields is validated)."""
    if isinstance(config, Mapping):
        return validated(CreateTranscriptionConfig, **config)
    return config


def config_values(config: Config) -> dict[str, Any]:
    """The fields a config sets."""
    config = as_config(config)
    return {} if config is None else config.model_dump(exclude_none=True)


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(part, safe="") for part in parts)


def _get(*parts: str) -> Request:
    return Request("GET", _path(*parts), retry=True)


def _delete(*parts: str) -> Request:
    return Request("DELETE", _path(*parts), retry=True)


# -- generic building blocks -------------------------------------------------------------------


def raw(
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    data: Mapping[str, Any] | None = None,
    files: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Plan[Any]:
    """Any request; the response is returned as it is, errors included."""
    method = method.upper()
    idempotent = method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")
    request = Request(method, path, params, json, data, files, headers, retry=idempotent)
    return (yield request)


def or_none(plan: Plan[Any]) -> Plan[Any]:
    """The plan's result, or None if it fails with 404 (and only then)."""
    try:
        return (yield from plan)
    except HarkNotFoundError:
        return None


def for_each(source: Plan[Any], action: Callable[[Any], Plan[Any]]) -> Plan[None]:
    """Run `action` on each item `source` emits, as it emits it (so deleting while paging)."""
    outcome: Any = None
    while True:
        try:
            effect = source.send(outcome)
        except StopIteration:
            return
        if isinstance(effect, Emit):
            yield from action(effect.item)
            outcome = None
        else:
            outcome = yield effect


# -- the two collections -----------------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    """The plans every collection (`/files`, `/transcriptions`) has, parameterized by kind."""

    kind: str
    item: type[BaseModel]
    page: type[BaseModel]

    def list(self, limit: int, cursor: str | None) -> Plan[Any]:
        params = validated(ListParams, limit=limit, cursor=cursor)
        request = _get(self.kind)
        request.params = params.model_dump(exclude_none=True)
        return (yield from call(request, self.page))

    def every(self, limit: int) -> Plan[None]:
        """Emit each item of every page, fetching a page only when the previous one is used
        up. Stops when `next_page_cursor` is null, absent or empty."""
        cursor: str | None = None
        while True:
            page = yield from self.list(limit, cursor)
            for item in getattr(page, self.kind):
                yield Emit(item)
            cursor = page.next_page_cursor
            if not cursor:
                return

    def count(self) -> Plan[Count]:
        return (yield from call(_get(self.kind, "count"), Count))

    def get(self, item_id: str) -> Plan[Any]:
        return (yield from call(_get(self.kind, item_id), self.item))

    def delete(self, item_id: str) -> Plan[None]:
        return (yield from call_no_content(_delete(self.kind, item_id)))

    def delete_all(self, limit: int) -> Plan[None]:
        """Delete every item while paging through the list."""
        return (yield from for_each(self.every(limit), lambda x: or_none(self.delete(x.id))))


FILES = Collection("files", File, FileList)
TRANSCRIPTIONS = Collection("transcriptions", Transcription, TranscriptionList)


# -- files -------------------------------------------------------------------------------------


def open_upload(file: FileInput, filename: str | None) -> tuple[BinaryIO, str, bool]:
    """(stream, filename, whether we opened it). Paths are opened, never read into memory."""
    if isinstance(file, bytes | bytearray):
        return io.BytesIO(file), filename or "upload.bin", True
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        return path.open("rb"), filename or path.name, True
    if hasattr(file, "read"):
        name = getattr(file, "name", None)
        default = os.path.basename(name) if isinstance(name, str) and name else "upload.bin"
        return file, filename or default, False
    raise HarkValidationError("file must be bytes, a path, or a binary file object")


def upload_file(
    file: FileInput,
    filename: str | None,
    client_reference_id: str | None,
    idempotency_key: str | None,
) -> Plan[File]:
    if client_reference_id is not None and len(client_reference_id) > 256:
        raise HarkValidationError("client_reference_id: at most 256 characters")
    stream, name, owned = open_upload(file, filename)
    try:
        request = Request(
            "POST",
            "/files",
            data={"client_reference_id": client_reference_id} if client_reference_id else None,
            files={"file": (name, stream)},
            headers=idempotency_headers(idempotency_key),
            retry=True,
        )
        return (yield from call(request, File))
    finally:
        if owned:
            stream.close()


def create_upload_url(
    filename: str,
    content_type: str | None,
    size: int | None,
    client_reference_id: str | None,
) -> Plan[UploadUrl]:
    payload = validated(
        CreateUploadUrlPayload,
        filename=filename,
        content_type=content_type,
        size=size,
        client_reference_id=client_reference_id,
    )
    request = Request("POST", "/files/upload-url", json=payload.model_dump(exclude_none=True))
    return (yield from call(request, UploadUrl))


def _remaining(stream: BinaryIO) -> int | None:
    """How many bytes a seekable stream has left; None if it cannot tell."""
    try:
        start = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(start)
    except (AttributeError, OSError, ValueError):
        return None
    return end - start


def upload_presigned(
    file: FileInput,
    filename: str | None,
    content_type: str | None,
    client_reference_id: str | None,
) -> Plan[File]:
    """Get an upload URL, PUT the audio to it (without the API key: it may be S3's), then
    fetch the file (which, with S3, is when the server takes it in)."""
    stream, name, owned = open_upload(file, filename)
    try:
        size = _remaining(stream)
        content: bytes | BinaryIO = stream
        if size is None:  # pre-signed PUTs need a Content-Length: read what cannot be measured
            content = stream.read()
            size = len(content)
        target = yield from create_upload_url(name, content_type, size, client_reference_id)
        headers = {"Content-Length": str(size)}
        if content_type:
            headers["Content-Type"] = content_type
        put = Request(
            "PUT", target.upload_url, content=content, headers=headers, authenticated=False
        )
        checked((yield put))
        return (yield from FILES.get(target.file_id))
    finally:
        if owned:
            stream.close()


# -- transcriptions ----------------------------------------------------------------------------


def get_transcript(transcription_id: str) -> Plan[Transcript]:
    return (yield from call(_get("transcriptions", transcription_id, "transcript"), Transcript))


def cancel(transcription_id: str) -> Plan[Transcription]:
    # Not retried: a cancel that got through answers 409 the second time.
    request = Request("POST", _path("transcriptions", transcription_id, "cancel"))
    return (yield from call(request, Transcription))


def destroy(transcription_id: str) -> Plan[None]:
    """Delete a transcription, then its uploaded file if that still exists."""
    job = yield from TRANSCRIPTIONS.get(transcription_id)
    yield from TRANSCRIPTIONS.delete(job.id)
    if job.file_id:
        yield from or_none(FILES.delete(job.file_id))


def destroy_all(limit: int) -> Plan[None]:
    def destroy_one(job: Transcription) -> Plan[None]:
        yield from or_none(TRANSCRIPTIONS.delete(job.id))
        if job.file_id:
            yield from or_none(FILES.delete(job.file_id))

    return (yield from for_each(TRANSCRIPTIONS.every(limit), destroy_one))


def create(
    *,
    model: str = DEFAULT_MODEL,
    file_id: str | None = None,
    audio_url: str | None = None,
    client_reference_id: str | None = None,
    config: Config = None,
    idempotency_key: str | None = None,
) -> Plan[Transcription]:
    if file_id is not None and audio_url is not None:
        raise HarkValidationError("Provide either file_id or audio_url, not both")
    values: dict[str, Any] = {
        "model": model,
        "file_id": file_id,
        "audio_url": audio_url,
        "client_reference_id": client_reference_id,
    }
    values.update(config_values(config))  # as in the Soniox SDK, what the config sets wins
    payload = validated(CreateTranscriptionPayload, **values)
    request = Request(
        "POST",
        "/transcriptions",
        json=payload.model_dump(mode="json", exclude_none=True),
        headers=idempotency_headers(idempotency_key),
        retry=True,
    )
    return (yield from call(request, Transcription))


def transcribe(
    *,
    model: str = DEFAULT_MODEL,
    audio_url: str | None = None,
    file_id: str | None = None,
    file: FileInput | None = None,
    filename: str | None = None,
    client_reference_id: str | None = None,
    config: Config = None,
) -> Plan[Transcription]:
    """Create a transcription from exactly one of `file` (uploaded first), `file_id` or
    `audio_url`. The config is checked before uploading; if creating fails after an upload,
    the uploaded file is deleted again."""
    given = [
        name
        for name, value in (("file", file), ("file_id", file_id), ("audio_url", audio_url))
        if value is not None and value != ""
    ]
    if len(given) != 1:
        detail = f" (got {' and '.join(given)})" if given else ""
        raise HarkValidationError(f"Provide exactly one of file, file_id and audio_url{detail}")
    options = {
        "model": model,
        "client_reference_id": client_reference_id,
        "config": as_config(config),
    }
    if file is None:
        return (yield from create(file_id=file_id, audio_url=audio_url, **options))
    uploaded = yield from upload_file(file, filename, client_reference_id, None)
    try:
        return (yield from create(file_id=uploaded.id, **options))
    except HarkAPIError:
        yield from or_none(FILES.delete(uploaded.id))
        raise


class PollSchedule:
    """When to poll next: start short, grow by `factor` up to `cap`; while the job reports
    progress, never sleep much past its estimated completion."""

    def __init__(self, cap: float, first: float = 0.25, factor: float = 1.5) -> None:
        self.cap = max(cap, 0.0)
        self.delay = min(first, self.cap)
        self.first = self.delay
        self.factor = factor
        self._seen: tuple[float, float] | None = None  # (time, progress)

    def next(self, progress: float | None, now: float) -> float:
        delay = self.delay
        self.delay = min(self.cap, self.delay * self.factor)
        if progress is None:
            return delay
        seen, self._seen = self._seen, (now, progress)
        if seen is not None and progress > seen[1] and now > seen[0]:
            rate = (progress - seen[1]) / (now - seen[0])
            remaining = (1.0 - progress) / rate
            delay = min(delay, max(self.first, remaining))
        return delay


def wait(
    transcription_id: str,
    interval_sec: float,
    timeout_sec: float | None,
    on_progress: ProgressCallback | None,
) -> Plan[Transcription]:
    """Poll until the job is `completed` or `error` (an `error` job is returned, not raised).

    `interval_sec` is the longest pause between polls; polls start 0.25 s apart and back off.
    Raises TimeoutError once `timeout_sec` has passed."""
    deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
    schedule = PollSchedule(interval_sec)
    while True:
        job = yield from TRANSCRIPTIONS.get(transcription_id)
        if on_progress is not None:
            on_progress(job)
        if job.finished:
            return job
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            raise TimeoutError(
                f"Transcription {transcription_id} still {job.status} after {timeout_sec} s"
            )
        delay = schedule.next(job.progress, now)
        yield Sleep(delay if deadline is None else max(min(delay, deadline - now), 0.0))


def _delete_job_and_file(job: Transcription) -> Plan[None]:
    yield from TRANSCRIPTIONS.delete(job.id)
    if job.file_id:
        yield from FILES.delete(job.file_id)


def transcribe_and_wait(
    *,
    delete_after: bool = False,
    wait_interval_sec: float = 5.0,
    wait_timeout_sec: float | None = None,
    on_progress: ProgressCallback | None = None,
    **source: Any,
) -> Plan[Transcription]:
    """`transcribe(**source)`, then `wait`; with `delete_after`, delete the job and its file."""
    job = yield from transcribe(**source)
    job = yield from wait(job.id, wait_interval_sec, wait_timeout_sec, on_progress)
    if delete_after:
        yield from _delete_job_and_file(job)
    return job


def transcribe_and_wait_with_tokens(
    *, delete_after: bool = False, **kwargs: Any
) -> Plan[Transcript]:
    """`transcribe_and_wait`, then the transcript; with `delete_after`, the job and its file
    are deleted after the transcript was fetched (or failed to be)."""
    job = yield from transcribe_and_wait(delete_after=False, **kwargs)
    try:
        transcript = yield from get_transcript(job.id)
    except HarkAPIError:
        if delete_after:
            yield from _delete_job_and_file(job)
        raise
    if delete_after:
        yield from _delete_job_and_file(job)
    return transcript


def with_webhook(config: Config, webhook: Mapping[str, str]) -> CreateTranscriptionConfig:
    return validated(CreateTranscriptionConfig, **{**config_values(config), **webhook})


# -- models and auth ---------------------------------------------------------------------------


def list_models() -> Plan[ModelList]:
    return (yield from call(_get("models"), ModelList))


def create_temporary_api_key(**values: Any) -> Plan[TemporaryApiKey]:
    payload = validated(CreateTemporaryApiKeyPayload, **values)
    request = Request("POST", "/auth/temporary-api-key", json=payload.model_dump(exclude_none=True))
    return (yield from call(request, TemporaryApiKey))
