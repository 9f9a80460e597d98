"""The API namespaces (`files`, `stt`, `models`, `auth`), shared by both clients.

Each method builds a plan (`_plans`) and hands it to its client: `Client` runs it and returns
the result; `AsyncClient` returns an awaitable of the result (and, for `list_all`, an async
iterator). So with `AsyncClient` every method below is awaited, and `list_all` is used with
`async for`; the annotations show the result types.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import _plans as plans
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

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._client import BaseClient


ItemT = TypeVar("ItemT")
PageT = TypeVar("PageT")


def _arguments(local_names: dict[str, Any]) -> dict[str, Any]:
    """A method's arguments (its `locals()` at the start), to pass on to the plan as they are."""
    return {name: value for name, value in local_names.items() if name != "self"}


class _Namespace:
    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def _run(self, plan: plans.Plan[Any]) -> Any:
        return self._client._run(plan)

    def _iterate(self, plan: plans.Plan[Any]) -> Any:
        return self._client._iterate(plan)


def _with_id_named(method: Any, id_name: str) -> Any:
    """`method` with its `item_id` parameter called `id_name` (e.g. `file_id`, as in the Soniox
    SDK), so callers may pass it by that keyword."""

    @functools.wraps(method)
    def renamed(self: Any, *args: Any, **kwargs: Any) -> Any:
        if id_name in kwargs:
            args = (kwargs.pop(id_name), *args)
        return method(self, *args, **kwargs)

    signature = inspect.signature(method)
    parameters = [
        p.replace(name=id_name) if p.name == "item_id" else p for p in signature.parameters.values()
    ]
    renamed.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return renamed


class _CollectionAPI(_Namespace, Generic[ItemT, PageT]):
    """What `files` and `stt` have in common: paging, counting, getting and deleting."""

    _collection: plans.Collection

    def __init_subclass__(cls, id_name: str = "item_id", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("get", "get_or_none", "delete", "delete_if_exists"):
            setattr(cls, name, _with_id_named(getattr(_CollectionAPI, name), id_name))

    def list(self, limit: int = 100, cursor: str | None = None) -> PageT:
        """One page, newest first (`limit` 1-1000); pass its `next_page_cursor` on for the
        next page. Raises HarkValidationError for a limit out of range, before sending."""
        return self._run(self._collection.list(limit, cursor))

    def list_all(self, limit: int = 100) -> Iterator[ItemT]:
        """Every item, fetching pages of `limit` lazily as the iteration goes (so items may be
        deleted while iterating). An async iterator on AsyncClient."""
        return self._iterate(self._collection.every(limit))

    def count(self) -> Count:
        """How many there are (`total`)."""
        return self._run(self._collection.count())

    def get(self, item_id: str) -> ItemT:
        """One item by id. Raises HarkNotFoundError if there is none."""
        return self._run(self._collection.get(item_id))

    def get_or_none(self, item_id: str) -> ItemT | None:
        """One item by id, or None if there is none (any other error still raises)."""
        return self._run(plans.or_none(self._collection.get(item_id)))

    def delete(self, item_id: str) -> None:
        """Delete one item by id. Raises HarkNotFoundError if there is none."""
        return self._run(self._collection.delete(item_id))

    def delete_if_exists(self, item_id: str) -> None:
        """Delete one item by id if it exists (only not-found is ignored)."""
        return self._run(plans.or_none(self._collection.delete(item_id)))

    def delete_all(self, limit: int = 100) -> None:
        """Delete every item, page by page while listing; stops at the first failure."""
        return self._run(self._collection.delete_all(limit))


class FilesAPI(_CollectionAPI[File, FileList], id_name="file_id"):
    """Uploaded audio files: `/v1/files`. Deleting a file also removes its stored audio."""

    _collection = plans.FILES

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
        return self._run(plans.upload_file(file, filename, client_reference_id, idempotency_key))

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
        return self._run(plans.create_upload_url(**_arguments(locals())))

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
        return self._run(plans.upload_presigned(**_arguments(locals())))


class SttAPI(_CollectionAPI[Transcription, TranscriptionList], id_name="transcription_id"):
    """Transcription jobs: `/v1/transcriptions`. Deleting a transcription keeps its file, and
    is refused (HarkConflictError) while it is processing; `destroy` deletes both."""

    _collection = plans.TRANSCRIPTIONS

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
        return self._run(plans.create(**_arguments(locals())))

    def cancel(self, transcription_id: str) -> Transcription:
        """Stop a queued or processing job; it ends in `error` with `error_type`
        "cancelled". Raises HarkConflictError if it had already ended, HarkNotFoundError
        if there is no such job."""
        return self._run(plans.cancel(transcription_id))

    def destroy(self, transcription_id: str) -> None:
        """Delete a transcription and then its uploaded file (if that still exists)."""
        return self._run(plans.destroy(transcription_id))

    def destroy_all(self, limit: int = 100) -> None:
        """Delete every transcription and its file, page by page while listing."""
        return self._run(plans.destroy_all(limit))

    def get_transcript(self, transcription_id: str) -> Transcript:
        """The transcript of a completed job (text and tokens; `.to_srt()`, `.to_vtt()`).

        Raises HarkConflictError if the job is not completed."""
        return self._run(plans.get_transcript(transcription_id))

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
        return self._run(plans.wait(transcription_id, interval_sec, timeout_sec, on_progress))

    def transcribe_from_url(
        self,
        *,
        model: str = DEFAULT_MODEL,
        audio_url: str,
        client_reference_id: str | None = None,
        config: Config = None,
    ) -> Transcription:
        """Start a transcription of the audio at `audio_url` (fetched by the server)."""
        return self._run(plans.create(**_arguments(locals())))

    def transcribe_from_file_id(
        self,
        *,
        model: str = DEFAULT_MODEL,
        file_id: str,
        client_reference_id: str | None = None,
        config: Config = None,
    ) -> Transcription:
        """Start a transcription of an uploaded file."""
        return self._run(plans.create(**_arguments(locals())))

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
        return self._run(plans.transcribe(**_arguments(locals())))

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
        return self._run(plans.transcribe(**_arguments(locals())))

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
        arguments = _arguments(locals())
        webhook = self._client.webhooks.webhook_payload(
            arguments.pop("webhook_url"), auth=arguments.pop("webhook_auth")
        )
        arguments["config"] = plans.with_webhook(config, webhook)
        return self._run(plans.transcribe(**arguments))

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
        return self._run(plans.transcribe_and_wait(**_arguments(locals())))

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
        return self._run(plans.transcribe_and_wait_with_tokens(**_arguments(locals())))


class ModelsAPI(_Namespace):
    """The models this server offers: `/v1/models`."""

    def list(self) -> ModelList:
        """Every model (`.models`): ids, languages, translation support."""
        return self._run(plans.list_models())


class AuthAPI(_Namespace):
    """Temporary API keys: `/v1/auth/temporary-api-key`."""

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
        return self._run(plans.create_temporary_api_key(**_arguments(locals())))
