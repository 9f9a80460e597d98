"""Streaming request bodies: the multipart parser for POST /files, and the raw bodies PUT to
pre-signed upload URLs. The audio goes straight to blob storage, counted as it arrives,
never held whole in memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from hark.service import FieldError, InvalidRequest
from hark.service.files import FileService, Upload
from hark.service.uploads import Receiving, UploadService

MAX_TEXT_FIELD = 4096
# Non-file form fields one upload may carry (Hark reads one or two): with MAX_TEXT_FIELD
# this bounds what a request can make the server hold.
MAX_FIELDS = 64
# A part's headers in all (recent python-multipart releases also stop at 8 x 4 KiB).
MAX_PART_HEADERS = 16 * 1024


@dataclass
class ParsedUpload:
    upload: Upload | None = None  # always set once receive_upload returns
    filename: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # the last value of each field
    lists: dict[str, list[str]] = field(default_factory=dict)  # every value, in order
    complete: bool = False  # the closing boundary arrived
    text_parts: int = 0


def _missing_file() -> InvalidRequest:
    return InvalidRequest(
        "Send the audio as multipart/form-data with a part named 'file'.",
        validation_errors=[FieldError("file.file", "Field required", "missing")],
    )


async def receive_upload(
    request: Request, files: FileService, project_id: str, file_idempotency: bool = True
) -> ParsedUpload:
    """Parse the request; on any failure the partial blob is removed before re-raising.
    With `file_idempotency`, an Idempotency-Key header makes the file upload idempotent
    (POST /files); without, the caller uses the key for what it creates itself."""
    idempotency_key = request.headers.get("idempotency-key") if file_idempotency else None
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise _missing_file()

    declared = request.headers.get("content-length", "")
    declared_size = int(declared) if declared.isdigit() else None
    result = ParsedUpload()
    headers: dict[bytes, bytes] = {}
    header_field = bytearray()
    header_value = bytearray()
    part: dict = {}

    header_bytes = [0]  # of the current part

    def on_part_begin() -> None:
        headers.clear()
        part.clear()
        header_bytes[0] = 0

    def count_header(size: int) -> None:
        header_bytes[0] += size
        if header_bytes[0] > MAX_PART_HEADERS:
            raise InvalidRequest(
                f"A multipart part header is too large (over {MAX_PART_HEADERS} bytes)."
            )

    def on_header_field(data: bytes, start: int, end: int) -> None:
        count_header(end - start)
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        count_header(end - start)
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        part["name"] = name
        if name == "file":
            if result.upload is not None:
                raise InvalidRequest("Send exactly one 'file' part.")
            result.filename = disposition.get(b"filename", b"").decode("utf-8", "replace")
            result.upload = files.open_upload(project_id, declared_size, idempotency_key)
            part["file"] = True
        else:
            result.text_parts += 1
            if result.text_parts > MAX_FIELDS:
                raise InvalidRequest(
                    f"Too many form fields: an upload may have at most {MAX_FIELDS} besides 'file'."
                )
            part["text"] = bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.get("file"):
            files.write(result.upload, data[start:end])  # type: ignore[arg-type]
            return
        text = part["text"]
        text.extend(data[start:end])
        if len(text) > MAX_TEXT_FIELD:
            raise InvalidRequest(f"Form field {part['name']!r} is too long.")

    def on_part_end() -> None:
        if "text" in part:
            value = part["text"].decode("utf-8", "replace")
            result.fields[part["name"]] = value
            result.lists.setdefault(part["name"], []).append(value)

    def on_end() -> None:
        result.complete = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    try:
        async for chunk in request.stream():
            # Parsing writes the file to disk: keep that off the event loop.
            await run_in_threadpool(parser.write, chunk)
        parser.finalize()
        if result.upload is None:
            raise _missing_file()
        if not result.complete:
            raise InvalidRequest("The multipart body ended before its closing boundary.")
    except ParseError as exc:
        _discard(result)
        raise InvalidRequest(f"Malformed multipart body: {exc}") from exc
    except BaseException:  # too large, client gone, cancelled: leave nothing behind
        _discard(result)
        raise
    return result


def _discard(result: ParsedUpload) -> None:
    if result.upload is not None:
        result.upload.abort()


async def receive_put(
    request: Request, uploads: UploadService, kind: str, slot_id: str
) -> Receiving:
    """Claim the pre-signed upload `slot_id` with the URL's token and stream the body into
    it; on any failure nothing is kept and the URL may be used again."""
    declared = request.headers.get("content-length", "")
    receiving = await run_in_threadpool(
        uploads.open,
        kind,
        slot_id,
        request.query_params.get("token"),
        request.headers.get("content-type"),
        int(declared) if declared.isdigit() else None,
    )
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(uploads.write, receiving, chunk)
    except BaseException:  # too large, client gone, cancelled
        uploads.abort(receiving)
        raise
    return receiving
