"""Transcription jobs: create, inspect, delete, and read their transcripts."""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from hark.jobs import (
    AddressPolicy,
    ForbiddenAddress,
    check_url,
    filename_from_url,
)
from hark.store import File, IdempotencyRecord, Store, Transcription, TranscriptRow
from hark.store.queue import QueueSnapshot, Throughput

from .errors import Conflict, FieldError, InvalidRequest, NotFound
from .idempotency import Idempotency, check_key, request_hash
from .models import ModelCatalog
from .pagination import page
from .quotas import Quotas
from .requests import CreateTranscription


def not_found(transcription_id: str) -> NotFound:
    return NotFound(
        f"Transcription {transcription_id} not found.", error_type="transcription_not_found"
    )


THROUGHPUT_TTL_SECONDS = 5.0  # how long a throughput estimate (or a project's cap) is reused
SIMULATED_AHEAD = 256  # jobs ahead placed on workers one by one; the rest spread evenly


@dataclass(frozen=True)
class JobStatus:
    """A job as a status poll sees it: its row (columns as attributes) and, while it waits
    or runs, where it stands (Hark extensions)."""

    row: Any
    queue_position: int | None = None
    eta_seconds: float | None = None


def eta_seconds(
    row: Any,
    queue: QueueSnapshot,
    speed: Throughput | None,
    cap: Callable[[str], int] | None = None,
) -> float | None:
    """Seconds until a queued or processing job should finish, from recent throughput. A
    processing job has the rest of its own time left. A queued one starts when a worker is
    free for it: each worker busy now is free once its job's rest is done, the jobs ahead
    in line (of average length) take the first free worker in turn, and a project with
    `cap(project id)` jobs in flight also waits for one of its own to end."""
    if speed is None or row.status not in ("queued", "processing"):
        return None
    if row.status == "processing":
        return round(time_left(row.audio_duration_ms, row.progress, speed), 1)
    rests = [
        (job.project_id, time_left(job.audio_duration_ms, job.progress, speed))
        for job in queue.in_flight
    ]
    free_at = sorted(rest for _, rest in rests) or [0.0]  # a sorted list is a heap
    ahead = (queue.position or 1) - 1
    placed = min(ahead, SIMULATED_AHEAD)
    for _ in range(placed):
        heapq.heapreplace(free_at, free_at[0] + speed.job_seconds)
    start = free_at[0] + (ahead - placed) * speed.job_seconds / len(free_at)
    mine = [rest for project_id, rest in rests if project_id == row.project_id]
    if mine and cap is not None and len(mine) >= cap(row.project_id):
        start = max(start, min(mine))
    return round(start + time_left(row.audio_duration_ms, None, speed), 1)


def time_left(audio_duration_ms: int | None, progress: float | None, speed: Throughput) -> float:
    """A job's processing time still to come: its duration at the measured speed (else the
    mean job's), less the part its progress says is done."""
    if audio_duration_ms is None:
        whole = speed.job_seconds
    else:
        whole = audio_duration_ms / 1000 / speed.audio_per_second
    return whole * (1 - min(progress or 0.0, 1.0))


class TranscriptionService:
    def __init__(
        self,
        store: Store,
        dispatch: Callable[[str], None],
        catalog: ModelCatalog,
        quotas: Quotas,
        addresses: AddressPolicy,
        find_file: Callable[[str, str], File | None],
        require_https: bool = False,
        on_cancelled: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.dispatch = dispatch  # hands a new job's id to whatever runs jobs
        self.catalog = catalog
        self.quotas = quotas
        self.addresses = addresses
        self.find_file = find_file  # (project id, file id) -> the file, if there is one
        self.require_https = require_https  # HARK_REQUIRE_HTTPS: no plain-text URLs
        self.idempotency = Idempotency(store)
        # Estimates reused for THROUGHPUT_TTL_SECONDS: key -> (value, valid until).
        self._reused: dict[str, tuple[Any, float]] = {}
        self.on_cancelled = on_cancelled  # e.g. send the job's webhook right away

    def create(
        self,
        project_id: str,
        request: CreateTranscription,
        idempotency_key: str | None = None,
        job_id: str | None = None,
        decoder_options: dict | None = None,
        request_digest: str | None = None,
    ) -> Transcription:
        """Create and dispatch a job. `job_id` names it (the legacy gRPC API gives a job the
        id of its file); otherwise it gets a new one. `decoder_options` (temperature, VAD
        settings) come from the OpenAI door only, as does `request_digest`: what makes its
        requests the same for their Idempotency-Key (by default, `request`)."""
        key = check_key(idempotency_key)
        fetch = partial(self.store.get_transcription, project_id)
        digest = None
        if key is not None:
            digest = request_digest or request_hash(
                "POST /transcriptions", request.model_dump_json()
            )
            if earlier := self.idempotency.replay(project_id, key, digest, fetch):
                return earlier
        job = self.prepare(project_id, request)
        if job_id is not None:
            job.id = job_id
        job.decoder_options = decoder_options
        limits = self.quotas.for_project(project_id)
        added = self.store.add_transcription(
            job,
            limits.transcriptions,
            self.idempotency.claim(project_id, key, digest),
            self.idempotency.since(),
        )
        if isinstance(added, IdempotencyRecord):  # a concurrent retry got there first
            assert digest is not None
            return self.idempotency.winner(added, digest, fetch)
        if not isinstance(added, Transcription):  # over quota: `added` is the usage
            raise limits.transcription_error(added)
        self.dispatch(added.id)
        return added

    def check(self, project_id: str, request: CreateTranscription) -> None:
        """Check what can be checked without the audio: model, languages, translation and
        webhook."""
        self.catalog.resolve(request.model)
        self.catalog.check_language_hints(request.language_hints or [])
        self.catalog.check_translation(request.translation)
        if request.webhook_url is not None:
            self.check_url(project_id, request.webhook_url, "webhook_url")

    def prepare(
        self, project_id: str, request: CreateTranscription, file: File | None = None
    ) -> Transcription:
        """Check everything about the request that can be checked now; build the job (of
        `file`, when given, instead of looking up `file_id`)."""
        self.check(project_id, request)
        if request.audio_url is not None:
            self._check_scheme(request.audio_url, "audio_url")
            # Where the URL leads is checked again, per hop, when the worker fetches it.
            file_id, filename = None, filename_from_url(request.audio_url)
        else:
            file = file or self.find_file(project_id, request.file_id or "")
            if file is None:
                raise InvalidRequest(
                    f"File {request.file_id} not found.",
                    error_type="file_not_found",
                    validation_errors=[FieldError("body.file_id", "file not found")],
                )
            file_id, filename = file.id, file.filename
        context = request.context
        return Transcription(
            project_id=project_id,
            status="queued",
            model=request.model,
            file_id=file_id,
            audio_url=request.audio_url,
            filename=filename,
            language_hints=request.language_hints,
            language_hints_strict=request.language_hints_strict,
            enable_speaker_diarization=bool(request.enable_speaker_diarization),
            min_speakers=request.min_speakers,
            max_speakers=request.max_speakers,
            enable_language_identification=bool(request.enable_language_identification),
            enable_separate_recognition_per_channel=bool(
                request.enable_separate_recognition_per_channel
            ),
            translation=request.translation.model_dump(exclude_none=True)
            if request.translation is not None
            else None,
            context=context.model_dump(exclude_none=True)
            if context is not None and not isinstance(context, str)
            else context,
            webhook_url=request.webhook_url,
            webhook_auth_header_name=request.webhook_auth_header_name,
            webhook_auth_header_value=request.webhook_auth_header_value,
            client_reference_id=request.client_reference_id,
        )

    def _check_scheme(self, url: str, field: str) -> None:
        if self.require_https and not url.lower().startswith("https://"):
            message = f"{field} must be an https:// URL on this server (HARK_REQUIRE_HTTPS)."
            raise InvalidRequest(
                message,
                error_type="url_not_allowed",
                validation_errors=[FieldError(f"body.{field}", message, "url_not_allowed")],
            )

    def check_url(self, project_id: str, url: str, field: str) -> None:
        """A URL Hark will call back (webhook, Invox callback): its scheme, and whether its
        address is one the project may reach."""
        self._check_scheme(url, field)
        try:
            check_url(url, self.addresses.widened(self.store.url_exceptions(project_id)))
        except ForbiddenAddress as exc:
            raise InvalidRequest(
                f"{field} is not allowed: {exc}",
                error_type="url_not_allowed",
                validation_errors=[FieldError(f"body.{field}", str(exc), "url_not_allowed")],
            ) from None

    def get(self, project_id: str, transcription_id: str) -> Transcription:
        row = self.store.get_transcription(project_id, transcription_id)
        if row is None:
            raise not_found(transcription_id)
        return row

    @property
    def status_reads_inline(self) -> bool:
        """Whether `status` is quick enough to call on the event loop (SQLite)."""
        return self.store.queue.inline

    def status(self, project_id: str, transcription_id: str) -> JobStatus | None:
        """What a status poll answers: the job, fresh from the database, with its queue
        position and ETA while pending. None when this project has no such job."""
        row, queue = self.store.queue.status(project_id, transcription_id)
        if row is None:
            return None
        if row.status not in ("queued", "processing"):
            return JobStatus(row)
        speed = self._fresh("throughput", self.store.queue.throughput)
        return JobStatus(row, queue.position, eta_seconds(row, queue, speed, self._in_flight_cap))

    def _in_flight_cap(self, project_id: str) -> int:
        limits = self._fresh(f"limits:{project_id}", partial(self.quotas.for_project, project_id))
        return limits.max_jobs_in_flight_per_project

    def _fresh(self, key: str, compute: Callable[[], Any]) -> Any:
        """`compute()`, reused for THROUGHPUT_TTL_SECONDS (estimates, not what a poll shows)."""
        value, until = self._reused.get(key, (None, 0.0))
        if time.monotonic() >= until:
            if len(self._reused) >= 4096:
                self._reused.clear()
            value = compute()
            self._reused[key] = (value, time.monotonic() + THROUGHPUT_TTL_SECONDS)
        return value

    def list(
        self, project_id: str, limit: int, cursor: str | None, status: str | None = None
    ) -> tuple[list[Transcription], str | None]:
        fetch = partial(self.store.list_transcriptions, project_id, status=status)
        return page(fetch, limit, cursor)

    def count(self, project_id: str) -> int:
        return self.store.count_transcriptions(project_id)

    def delete(self, project_id: str, transcription_id: str) -> None:
        outcome = self.store.delete_transcription(project_id, transcription_id)
        if outcome == "not_found":
            raise not_found(transcription_id)
        if outcome != "deleted":
            raise Conflict("Cannot delete a transcription while it is processing.")

    def cancel(self, project_id: str, transcription_id: str) -> Transcription:
        """End a queued or processing job in `error` ("cancelled"); a worker on it stops at
        its next progress report."""
        outcome = self.store.cancel(
            project_id, transcription_id, "The transcription was cancelled at the user's request."
        )
        if outcome == "not_found":
            raise not_found(transcription_id)
        if outcome != "cancelled":
            raise Conflict(f"Cannot cancel a transcription that has ended (status: {outcome}).")
        self.on_cancelled()
        return self.get(project_id, transcription_id)

    def transcript(self, project_id: str, transcription_id: str) -> TranscriptRow:
        job = self.get(project_id, transcription_id)
        if job.status == "error":
            raise Conflict(f"The transcription failed: {job.error_message}")
        if job.status != "completed":
            raise Conflict(
                f"Can only get the transcript of a completed transcription (status: {job.status})."
            )
        row = self.store.get_transcript(job.id)
        if row is None:
            raise Conflict("The transcript is no longer available.")
        return row
