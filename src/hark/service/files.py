"""Uploaded audio files: streamed into blob storage, then recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePath
from typing import TypeVar

from hark.blobs import BlobStore, BlobWriter, TooLarge
from hark.store import File, IdempotencyRecord, PresignedUpload, Store

from .errors import FieldError, InvalidRequest, NotFound, ServiceError
from .idempotency import Idempotency, check_key, request_hash
from .pagination import page
from .quotas import Limits, Quotas


def not_found(file_id: str) -> NotFound:
    return NotFound(f"File {file_id} not found.", error_type="file_not_found")


MAX_REFERENCE_LENGTH = 256
# What recording an upload's blob gives: the File, or why not (store_upload).
Recorded = TypeVar("Recorded")
MULTIPART_OVERHEAD = 1024 * 1024  # room for boundaries and form fields around the file


def too_large(limit: int) -> InvalidRequest:
    # Soniox answers an oversize upload with 400 invalid_request; so do we.
    return InvalidRequest(
        f"Exceeded maximum file size (maximum is {limit} bytes).",
        validation_errors=[FieldError("file.file", f"larger than {limit} bytes", "too_large")],
    )


def size_mismatch(declared: int, received: int) -> InvalidRequest:
    return InvalidRequest(
        f"The upload is {received} bytes; the upload URL was made for {declared} bytes.",
        error_type="size_mismatch",
    )


def clean_filename(name: str | None) -> str:
    """Keep only the last path component: clients send paths, we show names."""
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    return base[:1024] or "upload.bin"


# What audio players are told a file is: by its leading bytes, else by its name.
_MAGIC = (
    (b"RIFF", "audio/wav"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"\x1aE\xdf\xa3", "audio/webm"),
)
_EXTENSIONS = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg"}
_EXTENSIONS |= {".opus": "audio/ogg", ".flac": "audio/flac", ".m4a": "audio/mp4"}
_EXTENSIONS |= {".mp4": "audio/mp4", ".aac": "audio/aac", ".webm": "audio/webm"}


def media_type(filename: str, head: bytes) -> str:
    """The media type of audio named `filename` whose first bytes are `head`."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    if head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    return _EXTENSIONS.get(PurePath(filename).suffix.lower(), "application/octet-stream")


@dataclass
class Upload:
    """A file being received for a project; `digest` is kept only for idempotent retries."""

    project_id: str
    writer: BlobWriter
    limits: Limits
    room: int  # bytes this project may still store
    idempotency_key: str | None = None
    digest: hashlib._Hash | None = field(default=None, repr=False)

    def abort(self) -> None:
        self.writer.abort()


class FileService:
    def __init__(self, store: Store, blobs: BlobStore, quotas: Quotas) -> None:
        self.store = store
        self.blobs = blobs
        self.quotas = quotas
        self.idempotency = Idempotency(store)

    def check_room(self, project_id: str, declared: int, overhead: int = 0) -> tuple[Limits, int]:
        """Refuse early a file of `declared` bytes (plus `overhead` of framing) that cannot
        fit; returns the project's limits and the bytes it may still store."""
        limits = self.quotas.for_project(project_id)
        if declared > limits.max_file_size + overhead:
            raise too_large(limits.max_file_size)
        usage = self.store.usage(project_id)
        room = limits.max_storage_bytes - usage.file_bytes
        if usage.files >= limits.max_files or room <= 0 or declared > room + overhead:
            raise limits.file_error(usage)
        return limits, room

    def open_upload(
        self,
        project_id: str,
        declared_body_size: int | None = None,
        idempotency_key: str | None = None,
    ) -> Upload:
        """Start receiving a file. A body declared far over a limit, or a project already at
        its file limit, is refused before any audio is stored."""
        key = check_key(idempotency_key)
        declared = declared_body_size or 0
        if key is None:
            limits, room = self.check_room(project_id, declared, MULTIPART_OVERHEAD)
        else:
            # A retry with a key may be answered with the file it already created, so its
            # quota is checked only when it is stored.
            limits = self.quotas.for_project(project_id)
            if declared > limits.max_file_size + MULTIPART_OVERHEAD:
                raise too_large(limits.max_file_size)
            room = limits.max_file_size
        return Upload(
            project_id,
            self.blobs.open_writer(min(limits.max_file_size, room)),
            limits,
            room,
            key,
            hashlib.sha256() if key else None,
        )

    def write(self, upload: Upload, chunk: bytes) -> None:
        try:
            upload.writer.write(chunk)
        except TooLarge:
            limits = upload.limits
            if upload.room < limits.max_file_size:
                raise limits.file_error(self.store.usage(upload.project_id)) from None
            raise too_large(limits.max_file_size) from None
        if upload.digest is not None:
            upload.digest.update(chunk)

    def finish_upload(
        self, upload: Upload, filename: str | None, client_reference_id: str | None
    ) -> File:
        """Commit the blob and record it; on any failure neither is left behind. A retry
        of an idempotent upload returns the file the first request created."""
        writer = upload.writer
        if client_reference_id is not None and len(client_reference_id) > MAX_REFERENCE_LENGTH:
            writer.abort()
            raise InvalidRequest(
                f"client_reference_id is longer than {MAX_REFERENCE_LENGTH} characters.",
                validation_errors=[
                    FieldError(
                        "body.client_reference_id",
                        f"at most {MAX_REFERENCE_LENGTH} characters",
                        "string_too_long",
                    )
                ],
            )
        name = clean_filename(filename)
        project_id = upload.project_id
        key_used = upload.idempotency_key
        fetch = partial(self.store.get_file, project_id)
        digest = None
        if key_used and upload.digest is not None:
            digest = request_hash(
                "POST /files", name, client_reference_id, upload.digest.hexdigest()
            )
            if earlier := self.idempotency.replay(project_id, key_used, digest, fetch):
                writer.abort()
                return earlier
        claim = self.idempotency.claim(project_id, key_used, digest)
        file = self.store_upload(
            upload,
            lambda key: self.store.add_file(
                File(
                    project_id=project_id,
                    filename=name,
                    size=writer.size,
                    storage_key=key,
                    client_reference_id=client_reference_id,
                ),
                upload.limits.files,
                claim,
                self.idempotency.since(),
            ),
        )
        if isinstance(file, IdempotencyRecord):  # a concurrent retry got there first
            assert digest is not None
            return self.idempotency.winner(file, digest, fetch)
        if not isinstance(file, File):  # over quota: `file` is the usage that refused it
            raise upload.limits.file_error(file, writer.size)
        return file

    def store_upload(self, upload: Upload, record: Callable[[str], Recorded]) -> Recorded:
        """Commit the upload's blob and `record` it under its key. Unless that gives the
        File, the blob is deleted again: nothing is left of a refused or failed upload."""
        key = upload.writer.commit()
        try:
            result = record(key)
        except BaseException:
            self.blobs.delete(key)
            raise
        if not isinstance(result, File):
            self.blobs.delete(key)
        return result

    # -- files uploaded straight to the storage (S3 pre-signed URLs) ---------------------

    def take_in(self, project_id: str, file_id: str | None = None) -> None:
        """Record what clients uploaded straight to the storage for this project (or for
        this one file id), held to the same limits as any upload. A refused object is
        deleted; the refusal is raised when it concerns `file_id`."""
        for upload in self.store.direct_uploads(project_id, file_id):
            assert upload.storage_key is not None
            adopted = self.blobs.adopt(upload.storage_key)
            if adopted is None:
                continue  # not uploaded (yet)
            error = self._record_direct(upload, *adopted)
            if error is not None and file_id is not None:
                raise error

    def _record_direct(self, upload: PresignedUpload, key: str, size: int) -> ServiceError | None:
        limits = self.quotas.for_project(upload.project_id)
        error: ServiceError | None
        if size > limits.max_file_size:
            error = too_large(limits.max_file_size)
        elif upload.size is not None and size != upload.size:
            error = size_mismatch(upload.size, size)
        else:
            file = File(
                id=upload.file_id,
                project_id=upload.project_id,
                filename=upload.filename,
                size=size,
                storage_key=key,
                client_reference_id=upload.client_reference_id,
            )
            result = self.store.complete_upload(upload.id, file, limits.files)
            if isinstance(result, File):
                return None
            if result is None:  # a concurrent request took it in (from its own copy)
                self.blobs.delete(key)
                return None
            error = limits.file_error(result, size)
        self.blobs.delete(key)
        self.store.refuse_upload(upload.id, error.message)
        return error

    def find(self, project_id: str, file_id: str) -> File | None:
        """The file, taking it in first if it was uploaded straight to the storage."""
        file = self.store.get_file(project_id, file_id)
        if file is None:
            self.take_in(project_id, file_id)
            file = self.store.get_file(project_id, file_id)
        return file

    def get(self, project_id: str, file_id: str) -> File:
        file = self.find(project_id, file_id)
        if file is None:
            raise not_found(file_id)
        return file

    def audio(self, project_id: str, file_id: str) -> tuple[File, str]:
        """A file and the media type its audio is served as."""
        file = self.get(project_id, file_id)
        try:
            head = b"".join(self.blobs.read(file.storage_key, 0, 15)) if file.size else b""
        except FileNotFoundError:
            raise NotFound(
                f"The audio of file {file_id} is no longer stored.", error_type="file_not_found"
            ) from None
        return file, media_type(file.filename, head)

    def read(self, file: File, start: int, end: int) -> Iterator[bytes]:
        """Bytes `start` to `end` (inclusive) of a file's audio."""
        return self.blobs.read(file.storage_key, start, end)

    def list(
        self, project_id: str, limit: int, cursor: str | None
    ) -> tuple[list[File], str | None]:
        self.take_in(project_id)
        return page(partial(self.store.list_files, project_id), limit, cursor)

    def count(self, project_id: str) -> int:
        self.take_in(project_id)
        return self.store.count_files(project_id)

    def delete(self, project_id: str, file_id: str) -> None:
        self.find(project_id, file_id)
        file = self.store.delete_file(project_id, file_id)
        if file is None:
            raise not_found(file_id)
        self.blobs.delete(file.storage_key)
