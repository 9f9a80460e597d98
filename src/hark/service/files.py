"""Uploaded audio files: streamed into blob storage, then recorded."""

from __future__ import annotations

from functools import partial
from pathlib import PurePath

from hark.blobs import BlobStore, BlobWriter, TooLarge
from hark.store import File, Store

from .errors import FieldError, InvalidRequest, NotFound
from .pagination import page


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


class FileService:
    def __init__(self, store: Store, blobs: BlobStore, max_file_size: int) -> None:
        self.store = store
        self.blobs = blobs
        self.max_file_size = max_file_size

    def open_upload(self, declared_body_size: int | None = None) -> BlobWriter:
        """Start receiving a file; a body declared far over the limit is refused up front."""
        if declared_body_size and declared_body_size > self.max_file_size + MULTIPART_OVERHEAD:
            raise too_large(self.max_file_size)
        return self.blobs.open_writer(self.max_file_size)

    @staticmethod
    def write(writer: BlobWriter, chunk: bytes) -> None:
        try:
            writer.write(chunk)
        except TooLarge as exc:
            raise too_large(exc.limit) from None

    def finish_upload(
        self,
        project_id: str,
        writer: BlobWriter,
        filename: str | None,
        client_reference_id: str | None,
    ) -> File:
        """Commit the blob and record it; on any failure neither is left behind."""
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
        key = writer.commit()
        try:
            return self.store.add_file(
                File(
                    project_id=project_id,
                    filename=clean_filename(filename),
                    size=writer.size,
                    storage_key=key,
                    client_reference_id=client_reference_id,
                )
            )
        except BaseException:
            self.blobs.delete(key)
            raise

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
