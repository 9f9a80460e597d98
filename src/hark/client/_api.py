"""The API namespaces (`files`, `stt`, `models`, `auth`): `Client`'s and `AsyncClient`'s.

Every method builds a plan (`_plans`, written once) and hands it to its client to run. The
sync namespaces return results; their async mirrors are `async def` with the same parameters
(tests/test_client_signatures.py holds them to that), so type checkers see what `await`
gives. Only the two shells differ in how a plan's requests are sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol, TypeVar

from . import _plans as plans
from ._core import Plan
from ._plans import DEFAULT_MODEL, Config, FileInput, ProgressCallback
from .types import (
    Count,
    File,
    FileList,
    ModelList,
    TemporaryApiKey,
    TemporaryApiKeyUsageType,
    Transcript,
    Transcription,
    TranscriptionList,
    UploadUrl,
    WebhookAuthConfig,
)
from .webhooks import WebhooksAPI

T = TypeVar("T")


class SyncRunner(Protocol):
    """What a sync namespace needs of its client (`Client`)."""

    @property
    def webhooks(self) -> WebhooksAPI: ...
    def _run(self, plan: Plan[T]) -> T: ...
    def _iterate(self, plan: Plan[Any]) -> Iterator[Any]: ...


class AsyncRunner(Protocol):
    """What an async namespace needs of its client (`AsyncClient`)."""

    @property
    def webhooks(self) -> WebhooksAPI: ...
    async def _run(self, plan: Plan[T]) -> T: ...
    def _iterate(self, plan: Plan[Any]) -> AsyncIterator[Any]: ...


def _webhook_config(
    client: SyncRunner | AsyncRunner, config: Config, url: str, auth: WebhookAuthConfig | None
) -> Config:
    return plans.with_webhook(config, client.webhooks.webhook_payload(url, auth=auth))


# -- sync --------------------------------------------------------------------------------------


class FilesAPI:
    """Uploaded audio files: `/v1/files`. Deleting a file also removes its stored audio."""

    def __init__(self, client: SyncRunner) -> None:
        self._client = client

    def list(self, limit: int = 100, cursor: str | None = None) -> FileList:
        """One page, newest first (`limit` 1-1000); pass its `next_page_cursor` on for the
        next page. Raises HarkValidationError for a limit out of range, before sending."""
        return self._client._run(plans.FILES.list(limit, cursor))

    def list_all(self, limit: int = 100) -> Iterator[File]:
        """Every file, fetching pages of `limit` lazily as the iteration goes (so files may
        be deleted while iterating)."""
        return self._client._iterate(plans.FILES.every(limit))

    def count(self) -> Count:
        """How many there are (`total`)."""
        return self._client._run(plans.FILES.count())

    def get(self, file_id: str) -> File:
        """One file by id. Raises HarkNotFoundError if there is none."""
        return self._client._run(plans.FILES.get(file_id))

    def get_or_none(self, file_id: str) -> File | None:
        """One file by id, or None if there is none (any other error still raises)."""
        return self._client._run(plans.or_none(plans.FILES.get(file_id)))

    def delete(self, file_id: str) -> None:
        """Delete one file by id. Raises HarkNotFoundError if there is none."""
        return self._client._run(plans.FILES.delete(file_id))

    def delete_if_exists(self, file_id: str) -> None:
        """Delete one file by id if it exists (only not-found is ignored)."""
        self._client._run(plans.or_none(plans.FILES.delete(file_id)))

    def delete_all(self, limit: int = 100) -> None:
        """Delete every file, page by page while listing; stops at the first failure."""
        return self._client._run(plans.FILES.delete_all(limit))

    def upload(
        self,
        file: FileInput,
        *,
        filename: str | None = None,
        client_reference_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> File:
        """Upload audio: a path (str or Path), bytes, or a binary file object.

        Files are streamed from disk, never read whole into memory. The name defaults to the
        path's or stream's base name (`upload.bin` for bytes). The request carries an
        `Idempotency-Key` (random unless given) so a retry cannot create a second file.
        """
        return self._client._run(
            plans.upload_file(file, filename, client_reference_id, idempotency_key)
        )

    def create_upload_url(
        self,
        filename: str,
        *,
        content_type: str | None = None,
        size: int | None = None,
        client_reference_id: str | None = None,
    ) -> UploadUrl:
        """A URL to PUT one file's audio to without an API key (hand it to a device or a
        browser), its future `file_id` and `expires_at`. With S3 storage it is S3's own
        pre-signed URL: the PUT must then send the declared `content_type` and `size`."""
        return self._client._run(
            plans.create_upload_url(filename, content_type, size, client_reference_id)
        )

    def upload_presigned(
        self,
        file: FileInput,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        client_reference_id: str | None = None,
    ) -> File:
        """Upload through a pre-signed URL (`create_upload_url`, then a PUT of the audio,
        streamed from disk) and return the file."""
        return self._client._run(
            plans.upload_presigned(file, filename, content_type, client_reference_id)
        )


class SttAPI:
    """Transcription jobs: `/v1/transcriptions`. Deleting a transcription keeps its file, and
    is refused (HarkConflictError) while it is processing; `destroy` deletes both."""

    def __init__(self, client: SyncRunner) -> None:
        self._client = client

    def list(self, limit: int = 100, cursor: str | None = None) -> TranscriptionList:
        """One page, newest first (`limit` 1-1000); pass its `next_page_cursor` on for the
        next page. Raises HarkValidationError for a limit out of range, before sending."""
        return self._client._run(plans.TRANSCRIPTIONS.list(limit, cursor))

    def list_all(self, limit: int = 100) -> Iterator[Transcription]:
        """Every transcription, fetching pages of `limit` lazily as the iteration goes."""
        return self._client._iterate(plans.TRANSCRIPTIONS.every(limit))

    def count(self) -> Count:
        """How many there are (`total`)."""
        return self._client._run(plans.TRANSCRIPTIONS.count())

    def get(self, transcription_id: str) -> Transcription:
        """One transcription by id. Raises HarkNotFoundError if there is none."""
        return self._client._run(plans.TRANSCRIPTIONS.get(transcription_id))

    def get_or_none(self, transcription_id: str) -> Transcription | None:
        """One transcription by id, or None if there is none (other errors still raise)."""
        return self._client._run(plans.or_none(plans.TRANSCRIPTIONS.get(transcription_id)))

    def delete(self, transcription_id: str) -> None:
        """Delete one transcription by id. Raises HarkNotFoundError if there is none."""
        return self._client._run(plans.TRANSCRIPTIONS.delete(transcription_id))

    def delete_if_exists(self, transcription_id: str) -> None:
        """Delete one transcription by id if it exists (only not-found is ignored)."""
        self._client._run(plans.or_none(plans.TRANSCRIPTIONS.delete(transcription_id)))

    def delete_all(self, limit: int = 100) -> None:
        """Delete every transcription, page by page while listing; stops at the first
        failure."""
        return self._client._run(plans.TRANSCRIPTIONS.delete_all(limit))

    def create(
        self,
        *,
        model: str = DEFAULT_MODEL,
        file_id: str | None = None,
        audio_url: str | None = None,
        client_reference_id: str | None = None,
        config: Config = None,
        idempotency_key: str | None = None,
    ) -> Transcription:
        """Start a transcription of an uploaded file (`file_id`) or of `audio_url`.

        Raises HarkValidationError for both or neither source, before sending. The request
        carries an `Idempotency-Key` (random unless given), so retries are safe.
        """
        return self._client._run(
            plans.create(
                model=model,
                file_id=file_id,
                audio_url=audio_url,
                client_reference_id=client_reference_id,
                config=config,
                idempotency_key=idempotency_key,
            )
        )

    def cancel(self, transcription_id: str) -> Transcription:
        """Stop a queued or processing job; it ends in `error` with `error_type`
        "cancelled". Raises HarkConflictError if it had already ended, HarkNotFoundError
        if there is no such job."""
        return self._client._run(plans.cancel(transcription_id))

    def destroy(self, transcription_id: str) -> None:
        """Delete a transcription and then its uploaded file (if that still exists)."""
        return self._client._run(plans.destroy(transcription_id))

    def destroy_all(self, limit: int = 100) -> None:
        """Delete every transcription and its file, page by page while listing."""
        return self._client._run(plans.destroy_all(limit))

    def get_transcript(self, transcription_id: str) -> Transcript:
        """The transcript of a completed job (text and tokens; `.to_srt()`, `.to_vtt()`).

        Raises HarkConflictError if the job is not completed."""
        return self._client._run(plans.get_transcript(transcription_id))

    def wait(
        self,
        transcription_id: str,
        *,
        interval_sec: float = 5.0,
        timeout_sec: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Transcription:
        """Poll until the job is `completed` or `error`, and return it (errors are not raised).

        Polls start 0.25 s apart and back off to at most `interval_sec`, polling sooner when
        the job's `progress` says it is about to finish. `on_progress(transcription)` is called
        after every poll. Raises TimeoutError after `timeout_sec` (None: wait forever).
        """
        return self._client._run(
            plans.wait(transcription_id, interval_sec, timeout_sec, on_progress)
        )

    def transcribe_from_url(
        self,
        *,
        model: str = DEFAULT_MODEL,
        audio_url: str,
        client_reference_id: str | None = None,
        config: Config = None,
    ) -> Transcription:
        """Start a transcription of the audio at `audio_url` (fetched by the server)."""
        return self._client._run(
            plans.create(
                model=model,
                audio_url=audio_url,
                client_reference_id=client_reference_id,
                config=config,
            )
        )

    def transcribe_from_file_id(
        self,
        *,
        model: str = DEFAULT_MODEL,
        file_id: str,
        client_reference_id: str | None = None,
        config: Config = None,
    ) -> Transcription:
        """Start a transcription of an uploaded file."""
        return self._client._run(
            plans.create(
                model=model, file_id=file_id, client_reference_id=client_reference_id, config=config
            )
        )

    def transcribe_from_file(
        self,
        *,
        model: str = DEFAULT_MODEL,
        file: FileInput,
        filename: str | None = None,
        client_reference_id: str | None = None,
        config: Config = None,
    ) -> Transcription:
        """Upload `file`, then start its transcription (`client_reference_id` goes to both)."""
        return self._client._run(
            plans.transcribe(
                model=model,
                file=file,
                filename=filename,
                client_reference_id=client_reference_id,
                config=config,
            )
        )

    def transcribe(
        self,
        *,
        model: str = DEFAULT_MODEL,
        audio_url: str | None = None,
        file_id: str | None = None,
        file: FileInput | None = None,
        filename: str | None = None,
        client_reference_id: str | None = None,
        config: Config = None,
    ) -> Transcription:
        """Start a transcription from exactly one of `file`, `file_id` and `audio_url`.

        Raises HarkValidationError otherwise, before sending anything."""
        return self._client._run(
            plans.transcribe(
                model=model,
                audio_url=audio_url,
                file_id=file_id,
                file=file,
                filename=filename,
                client_reference_id=client_reference_id,
                config=config,
            )
        )

    def transcribe_file_with_webhook(
        self,
        *,
        model: str = DEFAULT_MODEL,
        file: FileInput,
        webhook_url: str,
        filename: str | None = None,
        client_reference_id: str | None = None,
        webhook_auth: WebhookAuthConfig | None = None,
        config: Config = None,
    ) -> Transcription:
        """Upload `file` and start a transcription that POSTs to `webhook_url` when done.

        The delivery carries `webhook_auth`'s header, else the client's webhook secret (see
        `client.webhooks`), else no custom header."""
        return self._client._run(
            plans.transcribe(
                model=model,
                file=file,
                filename=filename,
                client_reference_id=client_reference_id,
                config=_webhook_config(self._client, config, webhook_url, webhook_auth),
            )
        )

    def transcribe_and_wait(
        self,
        *,
        model: str = DEFAULT_MODEL,
        audio_url: str | None = None,
        file_id: str | None = None,
        file: FileInput | None = None,
        filename: str | None = None,
        client_reference_id: str | None = None,
        delete_after: bool = False,
        wait_interval_sec: float = 5.0,
        wait_timeout_sec: float | None = None,
        config: Config = None,
        on_progress: ProgressCallback | None = None,
    ) -> Transcription:
        """`transcribe`, then `wait`; returns the finished transcription.

        With `delete_after`, the transcription and then its file are deleted afterwards."""
        return self._client._run(
            plans.transcribe_and_wait(
                model=model,
                audio_url=audio_url,
                file_id=file_id,
                file=file,
                filename=filename,
                client_reference_id=client_reference_id,
                delete_after=delete_after,
                wait_interval_sec=wait_interval_sec,
                wait_timeout_sec=wait_timeout_sec,
                config=config,
                on_progress=on_progress,
            )
        )

    def transcribe_and_wait_with_tokens(
        self,
        *,
        model: str = DEFAULT_MODEL,
        audio_url: str | None = None,
        file_id: str | None = None,
        file: FileInput | None = None,
        filename: str | None = None,
        client_reference_id: str | None = None,
        delete_after: bool = False,
        wait_interval_sec: float = 5.0,
        wait_timeout_sec: float | None = None,
        config: Config = None,
        on_progress: ProgressCallback | None = None,
    ) -> Transcript:
        """`transcribe_and_wait`, then `get_transcript`; returns the transcript.

        With `delete_after`, the transcription and its file are deleted after fetching it.
        Raises HarkConflictError if the job ended in `error`."""
        return self._client._run(
            plans.transcribe_and_wait_with_tokens(
                model=model,
                audio_url=audio_url,
                file_id=file_id,
                file=file,
                filename=filename,
                client_reference_id=client_reference_id,
                delete_after=delete_after,
                wait_interval_sec=wait_interval_sec,
                wait_timeout_sec=wait_timeout_sec,
                config=config,
                on_progress=on_progress,
            )
        )


class ModelsAPI:
    """The models this server offers: `/v1/models`."""

    def __init__(self, client: SyncRunner) -> None:
        self._client = client

    def list(self) -> ModelList:
        """Every model (`.models`): ids, languages, translation support."""
        return self._client._run(plans.list_models())


class AuthAPI:
    """Temporary API keys: `/v1/auth/temporary-api-key`."""

    def __init__(self, client: SyncRunner) -> None:
        self._client = client

    def create_temporary_api_key(
        self,
        *,
        usage_type: TemporaryApiKeyUsageType = "transcribe_websocket",
        expires_in_seconds: int = 300,
        client_reference_id: str | None = None,
        single_use: bool | None = None,
        max_session_duration_seconds: int | None = None,
    ) -> TemporaryApiKey:
        """A short-lived key (`api_key`, `expires_at`) to hand to a browser or device.

        `expires_in_seconds` is 1-3600. Not retried automatically (it is not idempotent)."""
        return self._client._run(
            plans.create_temporary_api_key(
                usage_type=usage_type,
                expires_in_seconds=expires_in_seconds,
                client_reference_id=client_reference_id,
                single_use=single_use,
                max_session_duration_seconds=max_session_duration_seconds,
            )
        )


# -- async: the same methods, awaited ------------------------------------------------------------


class AsyncFilesAPI:
    """Uploaded audio files: `/v1/files` (see `FilesAPI`; every method is awaited)."""

    def __init__(self, client: AsyncRunner) -> None:
        self._client = client

    async def list(self, limit: int = 100, cursor: str | None = None) -> FileList:
        """One page, newest first (see `FilesAPI.list`)."""
        return await self._client._run(plans.FILES.list(limit, cursor))

    def list_all(self, limit: int = 100) -> AsyncIterator[File]:
        """Every file, pages fetched lazily: use with `async for`."""
        return self._client._iterate(plans.FILES.every(limit))

    async def count(self) -> Count:
        return await self._client._run(plans.FILES.count())

    async def get(self, file_id: str) -> File:
        return await self._client._run(plans.FILES.get(file_id))

    async def get_or_none(self, file_id: str) -> File | None:
        return await self._client._run(plans.or_none(plans.FILES.get(file_id)))

    async def delete(self, file_id: str) -> None:
        return await self._client._run(plans.FILES.delete(file_id))

    async def delete_if_exists(self, file_id: str) -> None:
        await self._client._run(plans.or_none(plans.FILES.delete(file_id)))

    async def delete_all(self, limit: int = 100) -> None:
        return await self._client._run(plans.FILES.delete_all(limit))

    async def upload(
        self,
        file: FileInput,
        *,
        filename: str | None = None,
        client_reference_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> File:
        """Upload audio (see `FilesAPI.upload`)."""
        return await self._client._run(
            plans.upload_file(file, filename, client_reference_id, idempotency_key)
        )

    async def create_upload_url(
        self,
        filename: str,
        *,
        content_type: str | None = None,
        size: int | None = None,
        client_reference_id: str | None = None,
    ) -> UploadUrl:
        """A pre-signed upload URL (see `FilesAPI.create_upload_url`)."""
        return await self._client._run(
            plans.create_upload_url(filename, content_type, size, client_reference_id)
        )

    async def upload_presigned(
        self,
        file: FileInput,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        client_reference_id: str | None = None,
    ) -> File:
        """Upload through a pre-signed URL (see `FilesAPI.upload_presigned`)."""
        return await self._client._run(
            plans.upload_presigned(file, filename, content_type, client_reference_id)
        )


class AsyncSttAPI:
    """Transcription jobs: `/v1/transcriptions` (see `SttAPI`; every method is awaited)."""

    def __init__(self, client: AsyncRunner) -> None:
        self._client = client

    async def list(self, limit: int = 100, cursor: str | None = None) -> TranscriptionList:
        return await self._client._run(plans.TRANSCRIPTIONS.list(limit, cursor))

    def list_all(self, limit: int = 100) -> AsyncIterator[Transcription]:
        """Every transcription, pages fetched lazily: use with `async for`."""
        return self._client._iterate(plans.TRANSCRIPTIONS.every(limit))

    async def count(self) -> Count:
        return await self._client._run(plans.TRANSCRIPTIONS.count())

    async def get(self, transcription_id: str) -> Transcription:
        return await self._client._run(plans.TRANSCRIPTIONS.get(transcription_id))

    async def get_or_none(self, transcription_id: str) -> Transcription | None:
        return await self._client._run(plans.or_none(plans.TRANSCRIPTIONS.get(transcription_id)))

    async def delete(self, transcription_id: str) -> None:
        return await self._client._run(plans.TRANSCRIPTIONS.delete(transcription_id))

    async def delete_if_exists(self, transcription_id: str) -> None:
        await self._client._run(plans.or_none(plans.TRANSCRIPTIONS.delete(transcription_id)))

    async def delete_all(self, limit: int = 100) -> None:
        return await self._client._run(plans.TRANSCRIPTIONS.delete_all(limit))

    async def create(
        self,
        *,
        model: str = DEFAULT_MODEL,
        file_id: str | None = None,
        audio_url: str | None = None,
        client_reference_id: str | None = None,
        config: Config = None,
        idempotency_key: str | None = None,
    ) -> Transcription:
        return await self._client._run(
            plans.create(
                model=model,
                file_id=file_id,
                audio_url=audio_url,
                client_reference_id=client_reference_id,
                config=config,
                idempotency_key=idempotency_key,
            )
        )

    async def cancel(self, transcription_id: str) -> Transcription:
        """Stop a queued or processing job (see `SttAPI.cancel`)."""
        return await self._client._run(plans.cancel(transcription_id))

    async def destroy(self, transcription_id: str) -> None:
        return await self._client._run(plans.destroy(transcription_id))

    async def destroy_all(self, limit: int = 100) -> None:
        return await self._client._run(plans.destroy_all(limit))

    async def get_transcript(self, transcription_id: str) -> Transcript:
        return await self._client._run(plans.get_transcript(transcription_id))

    async def wait(
        self,
        transcription_id: str,
        *,
        interval_sec: float = 5.0,
        timeout_sec: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Transcription:
        return await self._client._run(
            plans.wait(transcription_id, interval_sec, timeout_sec, on_progress)
        )

    async def transcribe_from_url(
        self,
        *,
        model: str = DEFAULT_MODEL,
        audio_url: str,
        client_reference_id: str | None = None,
        config: Config = None,
    ) -> Transcription:
        return await self._client._run(
            plans.create(
                model=model,
                audio_url=audio_url,
                client_reference_id=client_reference_id,
                config=config,
            )
        )

    async def transcribe_from_file_id(
        self,
        *,
        model: str = DEFAULT_MODEL,
        file_id: str,
        client_reference_id: str | None = None,
        config: Config = None,
    ) -> Transcription:
        return await self._client._run(
            plans.create(
                model=model, file_id=file_id, client_reference_id=client_reference_id, config=config
            )
        )

    async def transcribe_from_file(
        self,
        *,
        model: str = DEFAULT_MODEL,
        file: FileInput,
        filename: str | None = None,
        client_reference_id: str | None = None,
        config: Config = None,
    ) -> Transcription:
        return await self._client._run(
            plans.transcribe(
                model=model,
                file=file,
                filename=filename,
                client_reference_id=client_reference_id,
                config=config,
            )
        )

    async def transcribe(
        self,
        *,
        model: str = DEFAULT_MODEL,
        audio_url: str | None = None,
        file_id: str | None = None,
        file: FileInput | None = None,
        filename: str | None = None,
        client_reference_id: str | None = None,
        config: Config = None,
    ) -> Transcription:
        return await self._client._run(
            plans.transcribe(
                model=model,
                audio_url=audio_url,
                file_id=file_id,
                file=file,
                filename=filename,
                client_reference_id=client_reference_id,
                config=config,
            )
        )

    async def transcribe_file_with_webhook(
        self,
        *,
        model: str = DEFAULT_MODEL,
        file: FileInput,
        webhook_url: str,
        filename: str | None = None,
        client_reference_id: str | None = None,
        webhook_auth: WebhookAuthConfig | None = None,
        config: Config = None,
    ) -> Transcription:
        return await self._client._run(
            plans.transcribe(
                model=model,
                file=file,
                filename=filename,
                client_reference_id=client_reference_id,
                config=_webhook_config(self._client, config, webhook_url, webhook_auth),
            )
        )

    async def transcribe_and_wait(
        self,
        *,
        model: str = DEFAULT_MODEL,
        audio_url: str | None = None,
        file_id: str | None = None,
        file: FileInput | None = None,
        filename: str | None = None,
        client_reference_id: str | None = None,
        delete_after: bool = False,
        wait_interval_sec: float = 5.0,
        wait_timeout_sec: float | None = None,
        config: Config = None,
        on_progress: ProgressCallback | None = None,
    ) -> Transcription:
        return await self._client._run(
            plans.transcribe_and_wait(
                model=model,
                audio_url=audio_url,
                file_id=file_id,
                file=file,
                filename=filename,
                client_reference_id=client_reference_id,
                delete_after=delete_after,
                wait_interval_sec=wait_interval_sec,
                wait_timeout_sec=wait_timeout_sec,
                config=config,
                on_progress=on_progress,
            )
        )

    async def transcribe_and_wait_with_tokens(
        self,
        *,
        model: str = DEFAULT_MODEL,
        audio_url: str | None = None,
        file_id: str | None = None,
        file: FileInput | None = None,
        filename: str | None = None,
        client_reference_id: str | None = None,
        delete_after: bool = False,
        wait_interval_sec: float = 5.0,
        wait_timeout_sec: float | None = None,
        config: Config = None,
        on_progress: ProgressCallback | None = None,
    ) -> Transcript:
        return await self._client._run(
            plans.transcribe_and_wait_with_tokens(
                model=model,
                audio_url=audio_url,
                file_id=file_id,
                file=file,
                filename=filename,
                client_reference_id=client_reference_id,
                delete_after=delete_after,
                wait_interval_sec=wait_interval_sec,
                wait_timeout_sec=wait_timeout_sec,
                config=config,
                on_progress=on_progress,
            )
        )


class AsyncModelsAPI:
    """The models this server offers: `/v1/models` (awaited)."""

    def __init__(self, client: AsyncRunner) -> None:
        self._client = client

    async def list(self) -> ModelList:
        return await self._client._run(plans.list_models())


class AsyncAuthAPI:
    """Temporary API keys: `/v1/auth/temporary-api-key` (awaited)."""

    def __init__(self, client: AsyncRunner) -> None:
        self._client = client

    async def create_temporary_api_key(
        self,
        *,
        usage_type: TemporaryApiKeyUsageType = "transcribe_websocket",
        expires_in_seconds: int = 300,
        client_reference_id: str | None = None,
        single_use: bool | None = None,
        max_session_duration_seconds: int | None = None,
    ) -> TemporaryApiKey:
        return await self._client._run(
            plans.create_temporary_api_key(
                usage_type=usage_type,
                expires_in_seconds=expires_in_seconds,
                client_reference_id=client_reference_id,
                single_use=single_use,
                max_session_duration_seconds=max_session_duration_seconds,
            )
        )
