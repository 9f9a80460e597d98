"""Response shapes on the wire (CONTRACTS §1.3), also what /docs shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from hark.service import File, Transcription, TranscriptRow, mask
from hark.service.transcriptions import JobStatus


class FileOut(BaseModel):
    id: str
    filename: str
    size: int
    created_at: datetime
    client_reference_id: str | None = None

    @classmethod
    def of(cls, row: File) -> FileOut:
        return cls(
            id=row.id,
            filename=row.filename,
            size=row.size,
            created_at=row.created_at,
            client_reference_id=row.client_reference_id,
        )


class FileList(BaseModel):
    files: list[FileOut]
    next_page_cursor: str | None


class Count(BaseModel):
    total: int
    public_api: int
    playground: int = 0


class TranscriptionOut(BaseModel):
    id: str
    status: Literal["queued", "processing", "completed", "error"]
    created_at: datetime
    model: str
    audio_url: str | None = None
    file_id: str | None = None
    filename: str
    language_hints: list[str] | None = None
    language_hints_strict: bool | None = None
    enable_speaker_diarization: bool
    min_speakers: int | None = None  # Hark extension
    max_speakers: int | None = None  # Hark extension
    enable_language_identification: bool
    enable_separate_recognition_per_channel: bool = False  # Hark extension
    translation: dict[str, Any] | None = None
    context: dict[str, Any] | str | None = None
    audio_duration_ms: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    webhook_url: str | None = None
    webhook_auth_header_name: str | None = None
    webhook_auth_header_value: str | None = None
    webhook_status_code: int | None = None
    client_reference_id: str | None = None
    # Hark extension: fraction of the audio transcribed so far, 0.0-1.0.
    progress: float

    # Hark extensions: while queued, the job's place in line (1: next to start); while
    # queued or processing, the seconds until it should finish, from recent throughput.
    queue_position: int | None = None
    eta_seconds: float | None = None

    @classmethod
    def of(cls, row: Transcription | Any, status: JobStatus | None = None) -> TranscriptionOut:
        return cls(**transcription_fields(row, status))


def transcription_fields(row: Transcription | Any, status: JobStatus | None = None) -> dict:
    """TranscriptionOut's fields of a job row (ORM object or Core row): also what the status
    poll's fast path serializes directly (api/status.py)."""
    return {
        "id": row.id,
        "status": row.status,
        "created_at": row.created_at,
        "model": row.model,
        "audio_url": row.audio_url,
        "file_id": row.file_id,
        "filename": row.filename,
        "language_hints": row.language_hints,
        "language_hints_strict": row.language_hints_strict,
        "enable_speaker_diarization": row.enable_speaker_diarization,
        "min_speakers": row.min_speakers,
        "max_speakers": row.max_speakers,
        "enable_language_identification": row.enable_language_identification,
        "enable_separate_recognition_per_channel": row.enable_separate_recognition_per_channel,
        "translation": row.translation,
        "context": row.context,
        "audio_duration_ms": row.audio_duration_ms,
        "error_type": row.error_type,
        "error_message": row.error_message,
        "webhook_url": row.webhook_url,
        "webhook_auth_header_name": row.webhook_auth_header_name,
        "webhook_auth_header_value": mask(row.webhook_auth_header_value),
        "webhook_status_code": row.webhook_status_code,
        "client_reference_id": row.client_reference_id,
        "progress": 1.0 if row.status == "completed" else row.progress,
        "queue_position": status.queue_position if status else None,
        "eta_seconds": status.eta_seconds if status else None,
    }


class TranscriptionList(BaseModel):
    transcriptions: list[TranscriptionOut]
    next_page_cursor: str | None


class TokenOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str
    start_ms: int | None = None
    end_ms: int | None = None
    confidence: float | None = None


class TranscriptOut(BaseModel):
    id: str
    text: str
    tokens: list[TokenOut]
    # Hark extensions (corrections): names given to speaker labels, and when the transcript
    # was last corrected (null: never). Word edits show in `text` and `tokens` themselves.
    speaker_names: dict[str, str] | None = None
    edited_at: datetime | None = None

    @model_serializer(mode="wrap")
    def _soniox_shape_unless_corrected(self, handler: SerializerFunctionWrapHandler) -> Any:
        """An uncorrected transcript is exactly Soniox's `{id, text, tokens}`."""
        data = handler(self)
        for name in ("speaker_names", "edited_at"):
            if data.get(name) is None:
                data.pop(name, None)
        return data

    @classmethod
    def of(cls, row: TranscriptRow) -> TranscriptOut:
        return cls(
            id=row.transcription_id,
            text=row.text,
            tokens=row.tokens,  # type: ignore[arg-type]
            speaker_names=row.speaker_names,
            edited_at=row.edited_at,
        )


class TranscriptEditList(BaseModel):
    """A transcript's corrections, oldest first: when, and what changed from what to what."""

    edits: list[dict[str, Any]]


class SearchHitOut(BaseModel):
    transcription_id: str
    file_id: str | None
    filename: str
    created_at: datetime
    token_index: int  # in the transcript's `tokens`
    start_ms: int | None  # where the matched word is spoken
    snippet: str
    highlight: tuple[int, int]  # [start, end) of the matched word in `snippet`


class SearchResults(BaseModel):
    hits: list[SearchHitOut]


class Language(BaseModel):
    code: str
    name: str


class TranslationTarget(BaseModel):
    target_language: str
    source_languages: list[str]
    exclude_source_languages: list[str]


class ModelOut(BaseModel):
    id: str
    aliased_model_id: str | None
    name: str
    context_version: int | None
    transcription_mode: Literal["async", "real_time"]
    languages: list[Language]
    supports_language_hints_strict: bool
    supports_max_endpoint_delay: bool
    translation_targets: list[TranslationTarget]
    two_way_translation_pairs: list[str]
    one_way_translation: str | None
    two_way_translation: str | None


class OpenAIModel(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    hark_model: str  # the model that runs this id


class ModelList(BaseModel):
    models: list[ModelOut]  # the Soniox SDK's shape
    object: Literal["list"] = "list"  # the OpenAI SDK's shape
    data: list[OpenAIModel]


class TemporaryKeyOut(BaseModel):
    api_key: str
    expires_at: datetime


class UploadUrlOut(BaseModel):
    upload_url: str
    file_id: str
    expires_at: datetime
