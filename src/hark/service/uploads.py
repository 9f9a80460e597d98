"""Pre-signed uploads: a URL handed out first, the audio PUT to it later without an API key.

Hark's own (`POST /v1/files/upload-url`) and the Invox API's (generate-presigned-url) share
this. With S3 storage and a declared size, Hark's own URL is S3's own pre-signed PUT (the
size signed as its Content-Length) and the object is taken in when its file id is first used
(FileService.take_in); otherwise, and always for Invox, Hark receives the PUT: the URL
carries a random single-use token, stored only as a hash.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from hark.blobs import BlobStore
from hark.invox import normalize_mime
from hark.jobs.processes import is_gone, this_process
from hark.store import File, PresignedUpload, Store, Transcription, Usage, new_id, utcnow

from .auth import PermissionDenied, hash_key
from .errors import InvalidRequest, PayloadTooLarge
from .files import FileService, Upload, clean_filename, size_mismatch
from .requests import CreateUploadUrl

# Where Hark receives each kind's PUT, below the public base URL.
PUT_PATHS = {"file": "/v1/uploads/{id}", "invox": "/api/v1/upload/{id}"}

REFUSALS = {
    "invalid": "This upload URL is not valid.",
    "used": "This upload URL has already been used.",
    "expired": "This upload URL has expired.",
}


def refused(reason: str) -> PermissionDenied:
    """403 for a PUT whose token is not valid ("invalid"), spent ("used") or "expired"."""
    return PermissionDenied(REFUSALS[reason], error_type=f"upload_url_{reason}")


@contextmanager
def _put_limits() -> Iterator[None]:
    """A PUT body over the file-size limit is 413 (POST /files answers 400, as Soniox does)."""
    try:
        yield
    except InvalidRequest as exc:
        if exc.error_type != "invalid_request":
            raise
        raise PayloadTooLarge(exc.message, error_type="file_too_large") from None


@dataclass(frozen=True)
class UploadUrl:
    url: str
    upload: PresignedUpload

    @property
    def expires_at(self) -> datetime:
        return self.upload.expires_at


@dataclass
class Receiving:
    """A PUT being streamed in: the upload it claimed, and the file being written."""

    slot: PresignedUpload
    upload: Upload


class UploadService:
    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        files: FileService,
        ttl_seconds: float,
        public_base_url: str | None,
        stale_after: timedelta = timedelta(hours=6),
        max_outstanding: int | None = None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.files = files
        self.ttl = timedelta(seconds=ttl_seconds)
        self.public_base_url = public_base_url
        # A PUT receiving this long (or whose process is gone) was cut off by a crash.
        self.stale_after = stale_after
        self.max_outstanding = max_outstanding  # unused, unexpired URLs per project

    def create(self, project_id: str, request: CreateUploadUrl, base_url: str) -> UploadUrl:
        """POST /v1/files/upload-url: S3's own pre-signed URL when the storage has them,
        else one to Hark's PUT route."""
        file_id = new_id()  # the upload's id too: its URL names the file it makes
        slot = PresignedUpload(
            id=file_id,
            file_id=file_id,
            kind="file",
            filename=clean_filename(request.filename),
            content_type=request.content_type,
            size=request.size,
            client_reference_id=request.client_reference_id,
        )
        key = self.blobs.new_key()
        # S3 holds a PUT to the quotas only through the Content-Length its URL signs: without
        # a declared size, Hark receives the PUT itself and counts the bytes as they arrive.
        direct = (
            None
            if request.size is None
            else self.blobs.presigned_put(
                key, int(self.ttl.total_seconds()), request.content_type, request.size
            )
        )
        if direct is None:
            return self.open_slot(project_id, slot, base_url)
        slot.storage_key = key
        self._add(project_id, slot)
        return UploadUrl(direct, slot)

    def open_slot(self, project_id: str, slot: PresignedUpload, base_url: str) -> UploadUrl:
        """Store `slot` with a fresh token; the URL of Hark's PUT route for it."""
        token = secrets.token_urlsafe(32)
        slot.token_hash = hash_key(token)
        self._add(project_id, slot)
        base = (self.public_base_url or base_url).rstrip("/")
        path = PUT_PATHS[slot.kind].format(id=quote(slot.id, safe=""))
        expires = int(slot.expires_at.timestamp())
        return UploadUrl(f"{base}{path}?{urlencode({'token': token, 'expires': expires})}", slot)

    def _add(self, project_id: str, slot: PresignedUpload) -> None:
        # A project that cannot store this file is told now, not after the upload.
        self.files.check_room(project_id, slot.size or 0)
        slot.project_id = project_id
        slot.expires_at = utcnow() + self.ttl
        if self.store.add_upload(slot, self.max_outstanding) is None:
            raise InvalidRequest(
                f"This project already has {self.max_outstanding} upload URLs that are "
                "neither used nor expired; use or let some expire first.",
                error_type="upload_url_limit_exceeded",
            )

    def open(
        self,
        kind: str,
        slot_id: str,
        token: str | None,
        content_type: str | None,
        declared_size: int | None,
    ) -> Receiving:
        """Claim the upload for this PUT: 403 for a bad, used or expired token or another
        Content-Type than the one the URL was made for; then refuse early what cannot fit."""
        claimed = self.store.claim_upload(
            slot_id, hash_key(token or ""), this_process(), is_gone, utcnow() - self.stale_after
        )
        if isinstance(claimed, str):
            raise refused(claimed)
        if claimed.kind != kind:  # another surface's upload: not this route's to receive
            self.store.release_upload(claimed.id)
            raise refused("invalid")
        try:
            expected = claimed.content_type
            if expected and normalize_mime(content_type or "") != normalize_mime(expected):
                raise PermissionDenied(
                    f"Send the audio with Content-Type {expected}, as the upload URL was made "
                    f"for (got {content_type or 'none'}).",
                    error_type="content_type_mismatch",
                )
            if claimed.size is not None and declared_size not in (None, claimed.size):
                raise size_mismatch(claimed.size, declared_size or 0)
            with _put_limits():
                upload = self.files.open_upload(claimed.project_id, declared_size)
            return Receiving(claimed, upload)
        except BaseException:
            self.store.release_upload(claimed.id)
            raise

    def write(self, receiving: Receiving, chunk: bytes) -> None:
        with _put_limits():
            self.files.write(receiving.upload, chunk)

    def abort(self, receiving: Receiving) -> None:
        """The PUT failed: nothing is kept, and the URL may be used again."""
        receiving.upload.abort()
        self.store.release_upload(receiving.slot.id)

    def finish(
        self, receiving: Receiving, job: Callable[[File], Transcription] | None = None
    ) -> tuple[File, Transcription | None]:
        """Record the file (and the job `job` builds for it), all or nothing, within the
        project's quotas; on refusal nothing is kept and the URL may be used again."""
        slot, upload = receiving.slot, receiving.upload
        limits = upload.limits
        file = File(
            id=slot.file_id,
            project_id=slot.project_id,
            filename=slot.filename,
            size=upload.writer.size,
            client_reference_id=slot.client_reference_id,
        )
        try:
            if slot.size is not None and file.size != slot.size:
                raise size_mismatch(slot.size, file.size)
            started = job(file) if job is not None else None

            def record(key: str) -> File | Usage | None:
                file.storage_key = key
                return self.store.complete_upload(
                    slot.id, file, limits.files, started, limits.transcriptions
                )

            result = self.files.store_upload(upload, record)
        except BaseException:
            self.abort(receiving)
            raise
        if isinstance(result, File):
            return result, started
        self.store.release_upload(slot.id)
        if result is None:
            raise refused("used")
        if limits.files.admits(result, file):
            raise limits.transcription_error(result)
        raise limits.file_error(result, file.size)
