"""The endpoints the web console needs (and any script may use): the stored audio with HTTP
Range, transcript corrections and their history, exports named after the file, search.
Also serves the console itself: its page at `/`, its assets under `/console/`."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path, PurePath
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse

from hark import subtitles
from hark.exports import render_docx
from hark.service import TranscriptEdit

from .deps import HarkDep, ProjectDep, caller_key
from .schemas import SearchHitOut, SearchResults, TranscriptEditList, TranscriptOut

router = APIRouter()
page_router = APIRouter(include_in_schema=False)

STATIC = Path(str(files("hark.console") / "static"))

ExportFormat = Literal["txt", "srt", "vtt", "json", "docx"]
EXPORT_TYPES = {
    "txt": subtitles.MEDIA_TYPES["text"],
    "srt": subtitles.MEDIA_TYPES["srt"],
    "vtt": subtitles.MEDIA_TYPES["vtt"],
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


# -- the console's page ------------------------------------------------------------------


@page_router.get("/")
def console_page() -> FileResponse:
    # no-cache: a new Hark version's page is picked up at once (it is revalidated, cheaply).
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


# -- audio -------------------------------------------------------------------------------


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) a `Range: bytes=...` header asks of `size` bytes; None to
    send everything (no header, a malformed one, several ranges). Raises ValueError when
    the range lies wholly past the end."""
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header or "")
    if match is None or match.group(1) + match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        if int(last) == 0 or size == 0:
            raise ValueError("empty suffix range")
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return None  # invalid: ignored, as RFC 9110 says
    if start >= size:
        raise ValueError("range starts past the end")
    return start, end


def disposition(kind: str, filename: str) -> str:
    """A Content-Disposition naming `filename` (ASCII fallback plus the UTF-8 original)."""
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", filename)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


@router.get(
    "/files/{file_id}/audio",
    tags=["files"],
    responses={200: {"content": {"audio/*": {}}}, 206: {"description": "Partial content."}},
)
async def get_file_audio(
    file_id: str,
    request: Request,
    hark: HarkDep,
    project_id: ProjectDep,
    range_header: Annotated[str | None, Header(alias="Range", include_in_schema=False)] = None,
) -> Response:
    """Hark extension: the file's audio as uploaded, with HTTP Range support (`206 Partial
    Content`), so players can seek."""
    file, media_type = await run_in_threadpool(hark.files.audio, project_id, file_id)
    hark.audit.record("audio.read", project_id, file_id, caller_key(request), "rest")
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": disposition("inline", file.filename),
        "Cache-Control": "private, max-age=3600",
    }
    try:
        wanted = byte_range(range_header, file.size)
    except ValueError:
        headers["Content-Range"] = f"bytes */{file.size}"
        return Response(status_code=416, headers=headers)
    start, end = wanted if wanted is not None else (0, file.size - 1)
    headers["Content-Length"] = str(max(end - start + 1, 0))
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{file.size}"
    body = hark.files.read(file, start, end) if end >= start else iter(())
    return StreamingResponse(
        body, status_code=206 if wanted else 200, media_type=media_type, headers=headers
    )


# -- corrections -------------------------------------------------------------------------


@router.patch(
    "/transcriptions/{transcription_id}/transcript",
    response_model=TranscriptOut,
    tags=["transcriptions"],
)
def edit_transcript(
    transcription_id: str,
    body: Annotated[TranscriptEdit, Body()],
    request: Request,
    hark: HarkDep,
    project_id: ProjectDep,
) -> TranscriptOut:
    """Hark extension: name speakers (`speaker_names`: `{"1": "Dr. Ruiz"}`, an empty name
    forgets one) and correct words (`tokens`: `{"12": "Ruiz"}`, token index to new text;
    timings never change). Every rendering of the transcript uses the corrections."""
    edited = hark.corrections.edit(project_id, transcription_id, body)
    hark.audit.record("transcript.edit", project_id, transcription_id, caller_key(request), "rest")
    return TranscriptOut.of(edited)


@router.get(
    "/transcriptions/{transcription_id}/transcript/edits",
    response_model=TranscriptEditList,
    tags=["transcriptions"],
)
def transcript_edits(
    transcription_id: str, request: Request, hark: HarkDep, project_id: ProjectDep
) -> TranscriptEditList:
    """Hark extension: the transcript's corrections, oldest first (the last 200)."""
    edits = hark.corrections.history(project_id, transcription_id)
    key = caller_key(request)
    hark.audit.record("transcript.edits.read", project_id, transcription_id, key, "rest")
    return TranscriptEditList(edits=edits)


# -- export ------------------------------------------------------------------------------


@router.get(
    "/transcriptions/{transcription_id}/export",
    tags=["transcriptions"],
    responses={200: {"content": {t: {} for t in EXPORT_TYPES.values()}}},
)
def export_transcript(
    transcription_id: str,
    request: Request,
    hark: HarkDep,
    project_id: ProjectDep,
    format: Annotated[ExportFormat, Query(description="txt, srt, vtt, json or docx.")] = "txt",
) -> Response:
    """Hark extension: the transcript as a download named after the file (`talk.srt`)."""
    job = hark.transcriptions.get(project_id, transcription_id)
    row = hark.transcriptions.transcript(project_id, transcription_id)
    action = f"transcript.download.{format}"
    hark.audit.record(action, project_id, transcription_id, caller_key(request), "rest")
    stem = PurePath(job.filename).stem or "transcript"
    if format == "docx":
        content: str | bytes = render_docx(job.filename, row.tokens, row.speaker_names)
    elif format == "json":
        content = TranscriptOut.of(row).model_dump_json(indent=2)
    else:
        kind = "text" if format == "txt" else format
        content = subtitles.render(row.tokens, kind, row.speaker_names)
    return Response(
        content,
        media_type=EXPORT_TYPES[format],
        headers={"Content-Disposition": disposition("attachment", f"{stem}.{format}")},
    )


# -- search ------------------------------------------------------------------------------


@router.get("/search", response_model=SearchResults, tags=["transcriptions"])
def search(
    request: Request,
    hark: HarkDep,
    project_id: ProjectDep,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Words to find.")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResults:
    """Hark extension: the project's completed transcripts that hold every word of `q`
    (the last word also as the start of a longer one), each hit at a word that matched."""
    hits = hark.corrections.search(project_id, q, limit)
    key = caller_key(request)
    for transcription_id in dict.fromkeys(hit.transcription.id for hit in hits):
        hark.audit.record("transcript.search", project_id, transcription_id, key, "rest")
    return SearchResults(
        hits=[
            SearchHitOut(
                transcription_id=hit.transcription.id,
                file_id=hit.transcription.file_id,
                filename=hit.transcription.filename,
                created_at=hit.transcription.created_at,
                token_index=hit.token_index,
                start_ms=hit.start_ms,
                snippet=hit.snippet,
                highlight=hit.highlight,
            )
            for hit in hits
        ]
    )
