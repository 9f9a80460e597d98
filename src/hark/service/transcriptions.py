"""Transcription jobs: create, inspect, delete, and read their transcripts."""

from __future__ import annotations

from functools import partial

from hark.jobs import Dispatcher
from hark.store import Store, Transcription, TranscriptRow

from .errors import Conflict, FieldError, InvalidRequest, NotFound
from .models import ModelCatalog
from .pagination import page
from .requests import CreateTranscription


def not_found(transcription_id: str) -> NotFound:
    return NotFound(
        f"Transcription {transcription_id} not found.", error_type="transcription_not_found"
    )


class TranscriptionService:
    def __init__(self, store: Store, dispatcher: Dispatcher, catalog: ModelCatalog) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.catalog = catalog

    def create(self, project_id: str, request: CreateTranscription) -> Transcription:
        self.catalog.resolve(request.model)
        self.catalog.check_language_hints(request.language_hints or [])
        if request.audio_url is not None:
            raise InvalidRequest(
                "audio_url is not supported by this server yet; upload the file to /v1/files "
                "and pass its id as file_id.",
                validation_errors=[FieldError("body.audio_url", "not supported yet")],
            )
        if request.webhook_url is not None:
            raise InvalidRequest(
                "Webhooks are not supported by this server yet; poll "
                "GET /v1/transcriptions/{id} instead.",
                validation_errors=[FieldError("body.webhook_url", "not supported yet")],
            )
        if request.translation is not None:
            raise InvalidRequest(
                "Translation is not available: this server has no translation pairs installed "
                "(see translation_targets in /v1/models).",
                validation_errors=[
                    FieldError("body.translation", "no translation pairs available")
                ],
            )
        file_id = request.file_id or ""
        file = self.store.get_file(project_id, file_id)
        if file is None:
            raise InvalidRequest(
                f"File {file_id} not found.",
                error_type="file_not_found",
                validation_errors=[FieldError("body.file_id", "file not found")],
            )
        context = request.context
        transcription = self.store.add_transcription(
            Transcription(
                project_id=project_id,
                status="queued",
                model=request.model,
                file_id=file.id,
                filename=file.filename,
                language_hints=request.language_hints,
                language_hints_strict=request.language_hints_strict,
                enable_speaker_diarization=bool(request.enable_speaker_diarization),
                enable_language_identification=bool(request.enable_language_identification),
                translation=None,
                context=context.model_dump(exclude_none=True)
                if context is not None and not isinstance(context, str)
                else context,
                webhook_url=request.webhook_url,
                webhook_auth_header_name=request.webhook_auth_header_name,
                webhook_auth_header_value=request.webhook_auth_header_value,
                client_reference_id=request.client_reference_id,
            )
        )
        self.dispatcher.dispatch(transcription.id)
        return transcription

    def get(self, project_id: str, transcription_id: str) -> Transcription:
        row = self.store.get_transcription(project_id, transcription_id)
        if row is None:
            raise not_found(transcription_id)
        return row

    def list(
        self, project_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Transcription], str | None]:
        return page(partial(self.store.list_transcriptions, project_id), limit, cursor)

    def count(self, project_id: str) -> int:
        return self.store.count_transcriptions(project_id)

    def delete(self, project_id: str, transcription_id: str) -> None:
        outcome = self.store.delete_transcription(project_id, transcription_id)
        if outcome == "not_found":
            raise not_found(transcription_id)
        if outcome != "deleted":
            raise Conflict("Cannot delete a transcription while it is processing.")

    def transcript(self, project_id: str, transcription_id: str) -> TranscriptRow:
        job = self.get(project_id, transcription_id)
        if job.status == "error":
            raise Conflict(f"The transcription failed: {job.error_message}")
        if job.status != "completed":
            raise Conflict(
                f"Can only get the transcript of a completed transcription (status: {job.status})."
            )
        row = self.store.get_transcript(job.id)
        if row is None:
            raise Conflict("The transcript is no longer available.")
        return row
