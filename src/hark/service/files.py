"""Uploaded audio files: streamed into blob storage, then recorded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePath

from hark.blobs import BlobStore, BlobWriter, TooLarge
from hark.store import File, Store

from .errors import FieldError, InvalidRequest, NotFound
from .idempotency import Idempotency, check_key, request_hash
from .pagination import page
from .quotas import Limits, Quotas


def not_found(file_id: str) -> NotFound:
    return NotFound(f"File {file_id} not found.", error_type="file_not_found")


MAX_REFERENCE_LENGTH = 256
MULTIPART_OVERHEAD = 1024 * 1024  # room for boundaries and form fields around the file


def too_large(limit: int) -> InvalidRequest:
    # Soniox answers an oversize upload with 400 invalid_request; so do we.
    return InvalidRequest(
        f"Exceeded maximum file size (maximum is {limit} bytes).",
        validation_errors=[FieldError("file.file", f"larger than {limit} bytes", "too_large")],
    )


def clean_filename(name: str | None) -> str:
    """Keep only the last path component: clients send paths, we show names."""
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    return base[:1024] or "upload.bin"


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

    def open_upload(
        self,
        project_id: str,
        declared_body_size: int | None = None,
        idempotency_key: str | None = None,
    ) -> Upload:
        """Start receiving a file. A body declared far over a limit, or a project already at
        its file limit, is refused before any audio is stored."""
        key = check_key(idempotency_key)
        limits = self.quotas.for_project(project_id)
        declared = declared_body_size or 0
        if declared > limits.max_file_size + MULTIPART_OVERHEAD:
            raise too_large(limits.max_file_size)
        room = limits.max_file_size
        if key is None:
            # Refuse early what cannot fit. A retry with a key may be answered with the file
            # it already created, so its quota is checked only when it is stored.
            usage = self.store.usage(project_id)
            room = limits.max_storage_bytes - usage.file_bytes
            if usage.files >= limits.max_files or room <= 0:
                raise limits.file_error(usage)
            if declared > room + MULTIPART_OVERHEAD:
                raise limits.file_error(usage)
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
        key = writer.commit()
        try:
            file = self.store.add_file(
                File(
                    project_id=project_id,
                    filename=name,
                    size=writer.size,
                    storage_key=key,
                    client_reference_id=client_reference_id,
                ),
                upload.limits.files,
            )
        except BaseException:
            self.blobs.delete(key)
            raise
        if not isinstance(file, File):  # over quota: `file` is the usage that refused it
            self.blobs.delete(key)
            raise upload.limits.file_error(file, writer.size)
        if (
            key_used
            and digest
            and (
                winner := self.idempotency.remember(
                    project_id,
                    key_used,
                    digest,
                    file.id,
                    fetch,
                    discard=partial(self.delete, project_id, file.id),
                )
            )
        ):
            return winner  # a concurrent retry got there first
        return file

    def get(self, project_id: str, file_id: str) -> File:
        file = self.store.get_file(project_id, file_id)
        if file is None:
            raise not_found(file_id)
        return file

    def list(
        self, project_id: str, limit: int, cursor: str | None
    ) -> tuple[list[File], str | None]:
        return page(partial(self.store.list_files, project_id), limit, cursor)

    def count(self, project_id: str) -> int:
        return self.store.count_files(project_id)

    def delete(self, project_id: str, file_id: str) -> None:
        file = self.store.delete_file(project_id, file_id)
        if file is None:
            raise not_found(file_id)
        self.blobs.delete(file.storage_key)
