"""Typed request and response models (the wire shapes of CONTRACTS §1.3-1.5, plus Hark's own).

Responses ignore keys they do not know, so a newer server keeps working with an older client.
Soniox SDK names are kept as aliases (`TranscriptionTranscript`, `GetFilesResponse`, …) so code
ported from the `soniox` package reads the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hark import subtitles

TranscriptionStatus = Literal["queued", "processing", "completed", "error"]
TranslationType = Literal["one_way", "two_way"]
TemporaryApiKeyUsageType = Literal["transcribe_websocket", "tts_rt"]
LanguageCode: TypeAlias = Annotated[str, Field(min_length=2, max_length=10)]
"""A language code such as `en`, or a regional variant such as `en-US`."""

Headers: TypeAlias = Mapping[str, str]

# -- requests ----------------------------------------------------------------------------------


class ListParams(BaseModel):
    """Query parameters of the list endpoints."""

    limit: int = Field(default=100, ge=1, le=1000)
    cursor: str | None = None


class StructuredContextGeneralItem(BaseModel):
    key: str
    value: str


class StructuredContextTranslationTerm(BaseModel):
    source: str
    target: str


class StructuredContext(BaseModel):
    """Context that improves recognition: `terms` become decoder hotwords; `text` and
    `general` (a list of key/value pairs, or a plain dict) prime the decoder.
    `translation_terms` accepts a list of source/target pairs or a plain dict."""

    general: list[StructuredContextGeneralItem] | None = None
    text: str | None = None
    terms: list[str] | None = None
    translation_terms: list[StructuredContextTranslationTerm] | None = None

    @field_validator("general", mode="before")
    @classmethod
    def _general_from_dict(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return [{"key": k, "value": v} for k, v in value.items()]
        return value

    @field_validator("translation_terms", mode="before")
    @classmethod
    def _terms_from_dict(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return [{"source": k, "target": v} for k, v in value.items()]
        return value


class TranslationConfig(BaseModel):
    """`one_way` needs `target_language`; `two_way` needs `language_a` and `language_b`.
    Fields that do not belong to the chosen type are cleared."""

    type: TranslationType
    target_language: LanguageCode | None = None
    language_a: LanguageCode | None = None
    language_b: LanguageCode | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> TranslationConfig:
        if self.type == "one_way":
            if not self.target_language:
                raise ValueError("target_language is required for one_way translation")
            self.language_a = self.language_b = None
        else:
            if not (self.language_a and self.language_b):
                raise ValueError("language_a and language_b are required for two_way translation")
            self.target_language = None
        return self


class WebhookAuthConfig(BaseModel):
    """A header the server sends with webhook deliveries, and that receivers check."""

    name: str
    value: str


class CreateTranscriptionConfig(BaseModel):
    """Options for a new transcription (everything except the audio source).

    `model` and `client_reference_id` may also be set here; when set they win over the
    arguments of the create call (as in the Soniox SDK)."""

    model: str | None = None
    language_hints: list[LanguageCode] | None = None
    language_hints_strict: bool | None = None
    enable_speaker_diarization: bool | None = None
    min_speakers: int | None = Field(default=None, ge=1)  # Hark extension
    max_speakers: int | None = Field(default=None, ge=1)  # Hark extension
    enable_language_identification: bool | None = None
    enable_separate_recognition_per_channel: bool | None = None  # Hark extension
    translation: TranslationConfig | None = None
    context: StructuredContext | str | None = None
    webhook_url: str | None = Field(default=None, max_length=256)
    webhook_auth_header_name: str | None = Field(default=None, max_length=256)
    webhook_auth_header_value: str | None = Field(default=None, max_length=256)
    client_reference_id: str | None = Field(default=None, max_length=256)


class CreateTranscriptionPayload(CreateTranscriptionConfig):
    """The POST /transcriptions body: a config plus exactly one of `file_id` and `audio_url`."""

    model: str = "stt-async-v5"
    file_id: str | None = None
    audio_url: str | None = Field(default=None, max_length=4096)

    @model_validator(mode="after")
    def _one_source(self) -> CreateTranscriptionPayload:
        if self.file_id and self.audio_url:
            raise ValueError("Provide either file_id or audio_url, not both")
        if not (self.file_id or self.audio_url):
            raise ValueError("Provide file_id or audio_url")
        return self


class CreateTemporaryApiKeyPayload(BaseModel):
    usage_type: TemporaryApiKeyUsageType = "transcribe_websocket"
    expires_in_seconds: int = Field(default=300, ge=1, le=3600)
    client_reference_id: str | None = Field(default=None, max_length=256)
    single_use: bool | None = None
    max_session_duration_seconds: int | None = Field(default=None, ge=1, le=18000)


class CreateUploadUrlPayload(BaseModel):
    filename: str = Field(min_length=1, max_length=1024)
    content_type: str | None = Field(default=None, max_length=256)
    size: int | None = Field(default=None, ge=0)
    client_reference_id: str | None = Field(default=None, max_length=256)


# -- responses ---------------------------------------------------------------------------------


class File(BaseModel):
    """An uploaded audio file."""

    id: str
    filename: str
    size: int
    created_at: datetime
    client_reference_id: str | None = None


class UploadUrl(BaseModel):
    """Where to PUT one file's audio (no API key needed) until `expires_at`; the file will
    have the id `file_id`."""

    upload_url: str
    file_id: str
    expires_at: datetime


class FileList(BaseModel):
    files: list[File]
    next_page_cursor: str | None = None


class Count(BaseModel):
    total: int
    public_api: int = 0
    playground: int = 0


class Transcription(BaseModel):
    """A transcription job. Hark extensions: `progress` (0.0-1.0) is the fraction of the
    audio transcribed so far, 1.0 once completed; `queue_position` (queued jobs; 1 = next to
    start) and `eta_seconds` (queued or processing jobs, from the server's recent throughput)
    say when it should be done (None otherwise, or before the server has measured any)."""

    id: str
    status: TranscriptionStatus
    created_at: datetime
    model: str
    filename: str
    enable_speaker_diarization: bool = False
    enable_language_identification: bool = False
    enable_separate_recognition_per_channel: bool = False
    min_speakers: int | None = None
    max_speakers: int | None = None
    audio_url: str | None = None
    file_id: str | None = None
    language_hints: list[str] | None = None
    language_hints_strict: bool | None = None
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
    progress: float | None = None
    queue_position: int | None = None
    eta_seconds: float | None = None

    @property
    def finished(self) -> bool:
        """True once the job is `completed` or `error`."""
        return self.status in ("completed", "error")


class TranscriptionList(BaseModel):
    transcriptions: list[Transcription]
    next_page_cursor: str | None = None


class Token(BaseModel):
    """A piece of the transcript: a word (or sub-word) with its timing in milliseconds."""

    model_config = ConfigDict(extra="allow")

    text: str
    start_ms: int | None = None
    end_ms: int | None = None
    confidence: float | None = None
    speaker: str | None = None
    channel: int | None = None
    language: str | None = None
    translation_status: str | None = None
    source_language: str | None = None
    is_final: bool | None = None


class Transcript(BaseModel):
    """A completed transcription's text and tokens; renders itself as text, SRT or WebVTT."""

    id: str
    text: str
    tokens: list[Token]
    # Hark extensions (corrections): names given to speakers, when last corrected.
    speaker_names: dict[str, str] | None = None
    edited_at: datetime | None = None

    def to_text(self) -> str:
        """The text (with `Speaker N:` or `Name:` paragraphs when diarized)."""
        return subtitles.render_text(self.tokens, self.speaker_names)

    def to_srt(self) -> str:
        """SubRip subtitles: cues split at sentences and pauses, ≤ 2 lines of ≤ 42 chars."""
        return subtitles.render_srt(self.tokens, self.speaker_names)

    def to_vtt(self) -> str:
        """WebVTT subtitles, with the same cues as `to_srt`."""
        return subtitles.render_vtt(self.tokens, self.speaker_names)


class Language(BaseModel):
    code: str
    name: str


class TranslationTarget(BaseModel):
    target_language: str
    source_languages: list[str]
    exclude_source_languages: list[str]


class Model(BaseModel):
    id: str
    aliased_model_id: str | None = None
    name: str
    context_version: int | None = None
    transcription_mode: Literal["real_time", "async"]
    languages: list[Language]
    supports_language_hints_strict: bool = False
    supports_max_endpoint_delay: bool = False
    translation_targets: list[TranslationTarget] = []
    two_way_translation_pairs: list[str] = []
    one_way_translation: str | None = None
    two_way_translation: str | None = None


class ModelList(BaseModel):
    models: list[Model]


class TemporaryApiKey(BaseModel):
    api_key: str
    expires_at: datetime


class WebhookEvent(BaseModel):
    """What a webhook delivery says: which transcription finished, and how."""

    id: str = Field(min_length=1)
    status: Literal["completed", "error"]


# Soniox SDK names, for code ported from the `soniox` package.
TranscriptionTranscript = Transcript
GetFilesResponse = FileList
GetTranscriptionsResponse = TranscriptionList
GetFilesCountResponse = GetTranscriptionsCountResponse = Count
GetModelsResponse = ModelList
CreateTemporaryApiKeyResponse = TemporaryApiKey
