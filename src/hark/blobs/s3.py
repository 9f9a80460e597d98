"""Audio in an S3-compatible bucket (AWS S3, MinIO, Ceph, ...): uploads stream in as
multipart uploads, a part at a time; workers stream the audio down to a scratch file."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hark.settings import Settings, require_extra

from .base import SizeLimitedWriter

log = logging.getLogger(__name__)

MiB = 1024 * 1024
PART_SIZE = 8 * MiB  # S3 wants parts of at least 5 MiB (all but the last)
MISSING = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class S3Options:
    endpoint_url: str | None = None  # None: AWS itself
    region: str | None = None
    # None: boto3's usual sources (AWS_* environment variables, ~/.aws, instance roles).
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    sse: str | None = None  # "AES256" | "aws:kms"
    sse_kms_key_id: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Options:
        secret = settings.s3_secret_access_key
        return cls(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            sse=settings.s3_sse,
            sse_kms_key_id=settings.s3_sse_kms_key_id,
        )

    def encryption(self) -> dict[str, str]:
        """The SSE parameters of every object Hark writes (put_object, multipart)."""
        if self.sse is None:
            return {}
        params = {"ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.sse_kms_key_id:
            params["SSEKMSKeyId"] = self.sse_kms_key_id
        return params


class S3BlobWriter(SizeLimitedWriter):
    """Buffers one part; the multipart upload starts only once a whole part has arrived,
    so a small file is a single PUT."""

    def __init__(self, store: S3BlobStore, max_size: int) -> None:
        super().__init__(max_size)
        self._store = store
        self._object = store.object_key(self.key)
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None

    def _append(self, chunk: bytes) -> None:
        self._buffer += chunk
        while len(self._buffer) >= PART_SIZE:
            self._send_part(bytes(self._buffer[:PART_SIZE]))
            del self._buffer[:PART_SIZE]

    def _send_part(self, data: bytes) -> None:
        s3, bucket = self._store.client, self._store.bucket
        if self._upload_id is None:
            self._upload_id = s3.create_multipart_upload(
                Bucket=bucket, Key=self._object, **self._store.encryption
            )["UploadId"]
        number = len(self._parts) + 1
        response = s3.upload_part(
            Bucket=bucket, Key=self._object, UploadId=self._upload_id, PartNumber=number, Body=data
        )
        self._parts.append({"ETag": response["ETag"], "PartNumber": number})

    def commit(self) -> str:
        s3, bucket = self._store.client, self._store.bucket
        try:
            if self._upload_id is None:
                s3.put_object(
                    Bucket=bucket,
                    Key=self._object,
                    Body=bytes(self._buffer),
                    **self._store.encryption,
                )
            else:
                if self._buffer:
                    self._send_part(bytes(self._buffer))
                s3.complete_multipart_upload(
                    Bucket=bucket,
                    Key=self._object,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
                self._upload_id = None
        except BaseException:
            self.abort()
            raise
        self._buffer = bytearray()
        return self.key

    def abort(self) -> None:
        self._buffer = bytearray()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None:
            return
        try:
            self._store.client.abort_multipart_upload(
                Bucket=self._store.bucket, Key=self._object, UploadId=upload_id
            )
        except Exception as exc:  # the sweep (or a bucket lifecycle rule) removes it later
            log.warning("could not abort multipart upload of %s: %s", self._object, exc)


class S3BlobStore:
    def __init__(self, bucket: str, prefix: str, scratch_dir: Path, options: S3Options) -> None:
        boto3 = require_extra("boto3", "An s3:// storage URL")
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.scratch_dir = scratch_dir
        self.encryption = options.encryption()
        config = Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            # S3-compatible servers (MinIO, ...) are addressed by path, not by bucket host.
            s3={"addressing_style": "path"} if options.endpoint_url else None,
            # Pre-signed upload URLs signed as every request is (SigV4), Content-Type and
            # Content-Length included when declared.
            signature_version="s3v4",
        )
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=options.endpoint_url,
            region_name=options.region,
            aws_access_key_id=options.access_key_id,
            aws_secret_access_key=options.secret_access_key,
            config=config,
        )

    def object_key(self, key: str) -> str:
        if not key.isalnum():
            raise ValueError(f"invalid blob key {key!r}")
        return self.prefix + key

    def open_writer(self, max_size: int) -> S3BlobWriter:
        return S3BlobWriter(self, max_size)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """Stream the object into a scratch file, removed again when the caller is done."""
        from botocore.exceptions import ClientError

        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.scratch_dir, suffix=".audio")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as f:
                try:
                    self.client.download_fileobj(self.bucket, self.object_key(key), f)
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") in MISSING:
                        raise FileNotFoundError(key) from None
                    raise
            yield path
        finally:
            path.unlink(missing_ok=True)

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(
                Bucket=self.bucket, Key=self.object_key(key), Range=f"bytes={start}-{end}"
            )["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING:
                raise FileNotFoundError(key) from None
            raise
        try:
            yield from body.iter_chunks(256 * 1024)
        finally:
            body.close()

    def stored_keys(self, before: datetime) -> Iterator[str]:
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix) :]
                if key.isalnum() and item["LastModified"] < before:
                    yield key

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def sweep_partials(self, before: datetime) -> int:
        """Abort multipart uploads begun before `before` (a crash's leftovers; a bucket
        lifecycle rule for incomplete uploads does the same)."""
        removed = 0
        for page in self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            for upload in page.get("Uploads", ()):
                if upload["Initiated"] < before:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        return removed

    def check(self) -> None:
        """Raise unless the bucket is reachable with these credentials."""
        self.client.head_bucket(Bucket=self.bucket)

    def new_key(self) -> str:
        return uuid.uuid4().hex

    def presigned_put(self, key: str, expires_in: int, content_type: str | None, size: int) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.object_key(key)}
        params["ContentLength"] = size  # a signed header: S3 refuses any other length
        if content_type:
            params["ContentType"] = content_type
        return self.client.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=expires_in, HttpMethod="PUT"
        )

    def adopt(self, key: str) -> tuple[str, int] | None:
        """Copy the uploaded object to a fresh key (server-side; multipart for big ones), so
        a second PUT to the still-valid URL cannot change a file Hark has recorded."""
        from botocore.exceptions import ClientError

        source = self.object_key(key)
        target = uuid.uuid4().hex
        try:
            self.client.copy(
                {"Bucket": self.bucket, "Key": source}, self.bucket, self.object_key(target)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING:
                return None
            raise
        size = self.client.head_object(Bucket=self.bucket, Key=self.object_key(target))[
            "ContentLength"
        ]
        self.client.delete_object(Bucket=self.bucket, Key=source)
        return target, int(size)
