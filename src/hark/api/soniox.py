"""The Soniox-compatible REST surface (CONTRACTS §1.2)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from hark.service import CreateTemporaryKey, CreateTranscription, CreateUploadUrl
from hark.service.transcriptions import not_found

from .deps import HarkDep, ProjectDep, caller_key
from .schemas import (
    Count,
    FileList,
    FileOut,
    ModelList,
    TemporaryKeyOut,
    TranscriptionList,
    TranscriptionOut,
    TranscriptOut,
    UploadUrlOut,
)
from .upload import receive_put, receive_upload

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size, 1-1000.")]
Cursor = Annotated[str | None, Query(description="next_page_cursor of the previous page.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retrying with the same key and body within 24 h returns the original "
        "resource instead of creating another.",
    ),
]


# -- files -------------------------------------------------------------------------------

# The upload routes read their bodies themselves (streamed, see upload.py), so FastAPI cannot
# document them: these say what they take.
UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "audio"},
                        "client_reference_id": {"type": "string", "maxLength": 256},
                    },
                }
            }
        },
    }
}
PUT_BODY = {
    "parameters": [
        {
            "name": "token",
            "in": "query",
            "required": True,
            "schema": {"type": "string"},
            "description": "The token in the upload URL (authorizes one upload).",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The audio, as the raw body (with the URL's `content_type`, if any).",
    },
}


@router.post(
    "/files", status_code=201, response_model=FileOut, tags=["files"], openapi_extra=UPLOAD_FORM
)
async def upload_file(
    request: Request,
    hark: HarkDep,
    project_id: ProjectDep,
    idempotency_key: IdempotencyKey = None,  # read by receive_upload; declared for /docs
) -> FileOut:
    """Upload audio as multipart/form-data (`file`, optional `client_reference_id`)."""
    parsed = await receive_upload(request, hark.files, project_id)
    assert parsed.upload is not None
    reference = parsed.fields.get("client_reference_id") or None
    row = await run_in_threadpool(
        hark.files.finish_upload, parsed.upload, parsed.filename, reference
    )
    return FileOut.of(row)


@router.post("/files/upload-url", response_model=UploadUrlOut, tags=["files"])
def create_upload_url(
    body: Annotated[CreateUploadUrl, Body()],
    request: Request,
    hark: HarkDep,
    project_id: ProjectDep,
) -> UploadUrlOut:
    """A URL to PUT one file's audio to, without an API key, until `expires_at` (with S3
    storage, S3's own pre-signed URL). Send the declared `content_type` and `size`, if any.
    The file gets `file_id`; it counts against the quotas once uploaded."""
    url = hark.uploads.create(project_id, body, str(request.base_url))
    return UploadUrlOut(upload_url=url.url, file_id=url.upload.file_id, expires_at=url.expires_at)


@router.put(
    "/uploads/{file_id}",
    status_code=201,
    response_model=FileOut,
    tags=["files"],
    openapi_extra=PUT_BODY,
)
async def put_upload(file_id: str, request: Request, hark: HarkDep) -> FileOut:
    """The PUT target of an upload URL (no API key: the URL's token authorizes it once)."""
    receiving = await receive_put(request, hark.uploads, "file", file_id)
    file, _ = await run_in_threadpool(hark.uploads.finish, receiving)
    return FileOut.of(file)


@router.get("/files", response_model=FileList, tags=["files"])
def list_files(
    hark: HarkDep, project_id: ProjectDep, limit: Limit = 1000, cursor: Cursor = None
) -> FileList:
    items, next_cursor = hark.files.list(project_id, limit, cursor)
    return FileList(files=[FileOut.of(f) for f in items], next_page_cursor=next_cursor)


@router.get("/files/count", response_model=Count, tags=["files"])
def count_files(hark: HarkDep, project_id: ProjectDep) -> Count:
    total = hark.files.count(project_id)
    return Count(total=total, public_api=total)


@router.get("/files/{file_id}", response_model=FileOut, tags=["files"])
def get_file(file_id: str, hark: HarkDep, project_id: ProjectDep) -> FileOut:
    return FileOut.of(hark.files.get(project_id, file_id))


@router.delete("/files/{file_id}", status_code=204, tags=["files"])
def delete_file(file_id: str, hark: HarkDep, project_id: ProjectDep) -> Response:
    hark.files.delete(project_id, file_id)
    return Response(status_code=204)


# -- transcriptions ----------------------------------------------------------------------


@router.post(
    "/transcriptions", status_code=201, response_model=TranscriptionOut, tags=["transcriptions"]
)
def create_transcription(
    body: Annotated[CreateTranscription, Body()],
    hark: HarkDep,
    project_id: ProjectDep,
    idempotency_key: IdempotencyKey = None,
) -> TranscriptionOut:
    return TranscriptionOut.of(hark.transcriptions.create(project_id, body, idempotency_key))


@router.get("/transcriptions", response_model=TranscriptionList, tags=["transcriptions"])
def list_transcriptions(
    hark: HarkDep,
    project_id: ProjectDep,
    limit: Limit = 1000,
    cursor: Cursor = None,
    status: Annotated[
        Literal["queued", "processing", "completed", "error"] | None,
        Query(description="Hark extension: only transcriptions with this status."),
    ] = None,
) -> TranscriptionList:
    items, next_cursor = hark.transcriptions.list(project_id, limit, cursor, status)
    return TranscriptionList(
        transcriptions=[TranscriptionOut.of(t) for t in items], next_page_cursor=next_cursor
    )


@router.get("/transcriptions/count", response_model=Count, tags=["transcriptions"])
def count_transcriptions(hark: HarkDep, project_id: ProjectDep) -> Count:
    total = hark.transcriptions.count(project_id)
    return Count(total=total, public_api=total)


@router.get(
    "/transcriptions/{transcription_id}", response_model=TranscriptionOut, tags=["transcriptions"]
)
def get_transcription(
    transcription_id: str, hark: HarkDep, project_id: ProjectDep
) -> TranscriptionOut:
    """The route every client polls; requests whose key is in the auth cache are answered
    before they reach FastAPI (api/status.py), with the same body."""
    status = hark.transcriptions.status(project_id, transcription_id)
    if status is None:
        raise not_found(transcription_id)
    return TranscriptionOut.of(status.row, status)


@router.delete("/transcriptions/{transcription_id}", status_code=204, tags=["transcriptions"])
def delete_transcription(transcription_id: str, hark: HarkDep, project_id: ProjectDep) -> Response:
    hark.transcriptions.delete(project_id, transcription_id)
    return Response(status_code=204)


@router.post(
    "/transcriptions/{transcription_id}/cancel",
    response_model=TranscriptionOut,
    tags=["transcriptions"],
)
def cancel_transcription(
    transcription_id: str, hark: HarkDep, project_id: ProjectDep
) -> TranscriptionOut:
    """Stop a queued or processing job: it ends in `error` with `error_type: "cancelled"`
    (its worker stops within a few seconds). A job that has ended answers 409."""
    return TranscriptionOut.of(hark.transcriptions.cancel(project_id, transcription_id))


@router.get(
    "/transcriptions/{transcription_id}/transcript",
    response_model=TranscriptOut,
    tags=["transcriptions"],
    responses={
        200: {
            "content": {
                "text/plain": {},
                "application/x-subrip": {},
                "text/vtt": {},
            },
            "description": "JSON by default; `format=text|srt|vtt` renders the tokens.",
        }
    },
)
def get_transcript(
    transcription_id: str,
    request: Request,
    hark: HarkDep,
    project_id: ProjectDep,
    format: Annotated[
        str, Query(description="json (default), text, srt (SubRip) or vtt (WebVTT).")
    ] = "json",
) -> TranscriptOut | Response:
    from hark import subtitles
    from hark.service.errors import FieldError, InvalidRequest

    if format not in ("json", *subtitles.FORMATS):
        raise InvalidRequest(
            f"Unknown transcript format {format!r}; use json, text, srt or vtt.",
            validation_errors=[FieldError("query.format", "must be json, text, srt or vtt")],
        )
    row = hark.transcriptions.transcript(project_id, transcription_id)
    action = "transcript.read" if format == "json" else f"transcript.export.{format}"
    hark.audit.record(action, project_id, transcription_id, caller_key(request), "rest")
    if format == "json":
        return TranscriptOut.of(row)
    return Response(
        subtitles.render(row.tokens, format, row.speaker_names),
        media_type=subtitles.MEDIA_TYPES[format],
    )


# -- temporary keys ----------------------------------------------------------------------


@router.post(
    "/auth/temporary-api-key", status_code=201, response_model=TemporaryKeyOut, tags=["auth"]
)
def create_temporary_api_key(
    body: Annotated[CreateTemporaryKey, Body()], hark: HarkDep, project_id: ProjectDep
) -> TemporaryKeyOut:
    """A short-lived key for one kind of use (e.g. `transcribe_websocket` from a browser);
    it never authorizes this REST API."""
    key = hark.keys.create_temporary(project_id, body)
    return TemporaryKeyOut(api_key=key.api_key, expires_at=key.expires_at)


# -- models ------------------------------------------------------------------------------


@router.get("/models", response_model=ModelList, tags=["models"])
def list_models(hark: HarkDep, project_id: ProjectDep) -> ModelList:
    """Both SDKs' shapes at once: Soniox's `models`, and OpenAI's list (`object`, `data`:
    Hark's ids and OpenAI's, each with the `hark_model` that runs it)."""
    from .openai import openai_models

    return ModelList.model_validate(
        {"models": hark.catalog.describe(), "object": "list", "data": openai_models(hark)}
    )
