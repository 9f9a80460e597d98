"""The OpenAI door (CONTRACTS §5): `/v1/audio/transcriptions`, `/v1/audio/translations` and
`/v1/models/{id}`, with OpenAI's error shape (see errors.openai_error).

Each request is an ordinary file and job of the caller's project (service/openai.py); the
handler waits for the job by polling the store, so it works the same whichever process
runs the job. Waiting, it watches for the client going away (then cancels the job, unless
an Idempotency-Key asks to keep it for a retry); past `openai_keepalive_seconds` the json
and text formats start their answer with spaces, one a second, until the result."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from hark.service import AudioRequest, Hark, Transcription, TranscriptRow
from hark.service.openai import Submitted, Task
from hark.service.openai_formats import (
    JSON_FORMATS,
    MEDIA_TYPES,
    delta_event,
    diarized_segments,
    done_event,
    render,
)

from .deps import HarkDep, ProjectDep, caller_key
from .errors import openai_error
from .upload import receive_upload

router = APIRouter(tags=["openai"])

TERMINAL = ("completed", "error")
FIRST_POLL = 0.02  # seconds; polls back off from here ...
MAX_POLL = 0.25  # ... to this, so a short job is answered soon and a long one costs little
BEAT = 1.0  # seconds between keep-alive bytes (and between checks that the client is there)
# Job errors that are the server's fault; the rest are about the audio or the request.
SERVER_ERRORS = ("internal_error", "model_unavailable")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A client that disconnects leaves its job running; a retry with the same "
        "key (and request) gets that job's answer.",
    ),
]


@router.post("/audio/transcriptions")
async def create_transcription(
    request: Request, hark: HarkDep, project_id: ProjectDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """OpenAI's `audio.transcriptions.create` on Hark's job queue (see docs/api/openai.md)."""
    return await _answer(request, hark, project_id, "transcribe", idempotency_key)


@router.post("/audio/translations")
async def create_translation(
    request: Request, hark: HarkDep, project_id: ProjectDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """OpenAI's `audio.translations.create`: speech into English text."""
    return await _answer(request, hark, project_id, "translate", idempotency_key)


@router.get("/models/{model_id}")
def retrieve_model(model_id: str, hark: HarkDep, project_id: ProjectDep) -> dict[str, Any]:
    """One model in OpenAI's shape (`client.models.retrieve`)."""
    hark.openai.check_model(model_id)
    return model_object(hark, model_id)


def model_object(hark: Hark, model_id: str) -> dict[str, Any]:
    """An OpenAI model object; `hark_model` names the model that runs it."""
    return {
        "id": model_id,
        "object": "model",
        "created": hark.openai.created,
        "owned_by": "hark",
        "hark_model": hark.catalog.model_id,
    }


def openai_models(hark: Hark) -> list[dict[str, Any]]:
    return [model_object(hark, model_id) for model_id in hark.openai.model_ids()]


# -- one request ---------------------------------------------------------------------------


async def _answer(
    request: Request, hark: Hark, project_id: str, task: Task, idempotency_key: str | None
) -> Response:
    parsed = await receive_upload(request, hark.files, project_id, file_idempotency=False)
    assert parsed.upload is not None
    try:
        audio = AudioRequest.parse(task, parsed.lists)
        await run_in_threadpool(hark.openai.check, audio)
    except BaseException:
        parsed.upload.abort()
        raise
    submitted = await run_in_threadpool(
        hark.openai.submit, project_id, parsed.upload, parsed.filename, audio, idempotency_key
    )
    waiting = _Waiting(hark, audio, submitted, caller_key(request))
    if audio.stream:
        return StreamingResponse(waiting.events(), media_type="text/event-stream")
    keepalive = hark.settings.openai_keepalive_seconds
    can_keep_alive = keepalive > 0 and audio.response_format in ("json", "text", *JSON_FORMATS)
    job = await waiting.wait(request, keepalive if can_keep_alive else None)
    if job is None:
        return Response(status_code=499)  # the client is gone; nobody reads this
    if job.status in TERMINAL:
        return await waiting.response(job)
    media = "application/json" if audio.response_format in JSON_FORMATS else MEDIA_TYPES["text"]
    return StreamingResponse(waiting.kept_alive(), media_type=media)


class _Waiting:
    """One request waiting for its job, and what it answers."""

    def __init__(
        self, hark: Hark, audio: AudioRequest, submitted: Submitted, key: str | None
    ) -> None:
        self.hark = hark
        self.audio = audio
        self.submitted = submitted
        self.job = submitted.job
        self.key = key  # the caller's key as the audit log names it

    async def transcript(self, job: Transcription) -> TranscriptRow:
        """The completed job's transcript, its read audited."""
        self.hark.audit.record("transcript.read", job.project_id, job.id, self.key, "openai")
        return await run_in_threadpool(self.hark.openai.transcript, job)

    async def poll(self) -> Transcription:
        self.job = await run_in_threadpool(self.hark.openai.job, self.job.project_id, self.job.id)
        return self.job

    async def wait(self, request: Request, limit: float | None) -> Transcription | None:
        """Until the job ends or `limit` seconds pass (then it is returned unfinished);
        None if the client went away meanwhile (the job then cancelled per the rule)."""
        deadline = None if limit is None else time.monotonic() + limit
        delay = FIRST_POLL
        while True:
            job = await self.poll()
            if job.status in TERMINAL:
                return job
            if await request.is_disconnected():
                self.finish(answered=False)
                return None
            if deadline is not None and time.monotonic() >= deadline:
                return job
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, MAX_POLL)

    def finish(self, answered: bool) -> None:
        """The cleanup rule (OpenAIService.finish), off the request's path."""
        asyncio.get_running_loop().run_in_executor(
            None, self.hark.openai.finish, self.submitted, self.audio, answered
        )

    async def outcome(self, job: Transcription) -> tuple[int, Any]:
        """(status, body) of an ended job: the rendered result, or an OpenAI error."""
        if job.status == "completed":
            row = await self.transcript(job)
            body = render(self.audio, row, self.hark.catalog.languages, job.audio_duration_ms)
            return 200, body
        return _failure(job)

    async def response(self, job: Transcription) -> Response:
        status, body = await self.outcome(job)
        cleanup = BackgroundTask(self.hark.openai.finish, self.submitted, self.audio, answered=True)
        if status != 200:
            # A retry would upload the same audio to fail the same way.
            failed = openai_error(status, *body, headers={"x-should-retry": "false"})
            failed.background = cleanup
            return failed
        if isinstance(body, dict):
            return JSONResponse(body, background=cleanup)
        media = MEDIA_TYPES[self.audio.response_format]
        return Response(body, media_type=media, background=cleanup)

    async def kept_alive(self) -> AsyncIterator[bytes]:
        """A space a second until the job ends, then the answer (JSON and plain text
        tolerate leading white space). An error that comes this late can only be a JSON
        error body under status 200."""
        answered = False
        try:
            while (job := await self.poll()).status not in TERMINAL:
                yield b" "
                await asyncio.sleep(BEAT)
            status, body = await self.outcome(job)
            if status != 200:
                body = {"error": json.loads(openai_error(status, *body).body)["error"]}
            yield (json.dumps(body) if isinstance(body, dict) else body).encode()
            answered = True
        finally:
            self.finish(answered)

    async def events(self) -> AsyncIterator[bytes]:
        """Server-sent events: the text as the worker decodes it (relayed from the store),
        speaker segments for diarized output, then `transcript.text.done`."""
        answered = False
        sent = ""
        beat = time.monotonic()
        delay = FIRST_POLL
        try:
            while True:
                job = await self.poll()
                text = job.partial_text or ""
                if job.status == "processing" and len(text) > len(sent) and text.startswith(sent):
                    yield _event(delta_event(text[len(sent) :]))
                    sent, beat = text, time.monotonic()
                if job.status in TERMINAL:
                    break
                if time.monotonic() - beat >= BEAT:
                    yield b": keep-alive\n\n"  # a comment: also notices a client gone
                    beat = time.monotonic()
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, MAX_POLL)
            if job.status != "completed":
                status, body = _failure(job)
                yield _event({"error": json.loads(openai_error(status, *body).body)["error"]})
            else:
                row = await self.transcript(job)
                done = done_event(self.audio, row, job.audio_duration_ms)
                rest = done["text"][len(sent) :] if done["text"].startswith(sent) else ""
                if rest:
                    yield _event(delta_event(rest))
                if self.audio.diarize:
                    for segment in diarized_segments(self.audio, row):
                        yield _event(segment)
                yield _event(done)
            answered = True
        finally:
            self.finish(answered)


def _event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def _failure(job: Transcription) -> tuple[int, tuple[str, str]]:
    """The status and (code, message) a failed job answers with."""
    error_type = job.error_type or "internal_error"
    message = job.error_message or "The transcription failed."
    if error_type in SERVER_ERRORS:
        return 500, (error_type, message)
    if error_type == "cancelled":
        return 409, (error_type, message)
    return 400, (error_type, message)
