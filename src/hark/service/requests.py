"""What a client may ask for when creating a transcription (CONTRACTS §1.4)."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from .files import MAX_REFERENCE_LENGTH

MAX_SPEAKERS = 64


def _well_formed_url(url: str) -> str:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"invalid URL: {exc}") from None
    if not parts.hostname:
        raise ValueError("invalid URL: no host")
    return url


# Headers Hark sets itself, or that would change how the request is framed or routed.
RESERVED_HEADERS = {
    "host", "content-length", "content-type", "transfer-encoding", "connection",
    "user-agent", "hark-timestamp", "hark-signature",
}  # fmt: skip


def _header_name(name: str) -> str:
    if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name):
        raise ValueError("not a valid HTTP header name")
    if name.lower() in RESERVED_HEADERS:
        raise ValueError(f"{name} is set by Hark and cannot be used")
    return name


def _header_value(value: str) -> str:
    if not all(" " <= c <= "~" for c in value):
        raise ValueError("must be printable ASCII (no line breaks)")
    return value


HttpUrl = Annotated[
    str,
    StringConstraints(pattern=r"^https?://[^\s]+$"),
    AfterValidator(_well_formed_url),
]
LanguageCode = Annotated[
    str, StringConstraints(min_length=2, max_length=10, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$")
]


class _Lenient(BaseModel):
    # Unknown keys are ignored, as the Soniox API does, so newer SDKs keep working.
    model_config = ConfigDict(extra="ignore")


class GeneralItem(_Lenient):
    key: str = Field(max_length=256)
    value: str = Field(max_length=10_000)


class TranslationTerm(_Lenient):
    source: str = Field(max_length=256)
    target: str = Field(max_length=256)


class StructuredContext(_Lenient):
    general: list[GeneralItem] | None = Field(default=None, max_length=100)
    text: str | None = Field(default=None, max_length=10_000)
    terms: list[Annotated[str, StringConstraints(max_length=256)]] | None = Field(
        default=None, max_length=1000
    )
    translation_terms: list[TranslationTerm] | None = Field(default=None, max_length=1000)


class TranslationConfig(_Lenient):
    type: Literal["one_way", "two_way"]
    target_language: LanguageCode | None = None
    language_a: LanguageCode | None = None
    language_b: LanguageCode | None = None

    @model_validator(mode="after")
    def _languages_for_type(self) -> TranslationConfig:
        if self.type == "one_way" and not self.target_language:
            raise ValueError("one_way translation needs target_language")
        if self.type == "two_way" and not (self.language_a and self.language_b):
            raise ValueError("two_way translation needs language_a and language_b")
        return self


class CreateTranscription(_Lenient):
    model: str = Field(min_length=1, max_length=32)
    file_id: str | None = None
    audio_url: HttpUrl | None = Field(default=None, max_length=4096)
    language_hints: list[LanguageCode] | None = Field(default=None, max_length=100)
    language_hints_strict: bool | None = None
    enable_speaker_diarization: bool | None = None
    # Hark extensions (the legacy gRPC API's min/max_num_speakers): bounds for diarization.
    min_speakers: int | None = Field(default=None, ge=1, le=MAX_SPEAKERS)
    max_speakers: int | None = Field(default=None, ge=1, le=MAX_SPEAKERS)
    enable_language_identification: bool | None = None
    # Hark extension (Soniox clients never send it): one transcript per channel, interleaved.
    enable_separate_recognition_per_channel: bool | None = None
    translation: TranslationConfig | None = None
    context: StructuredContext | Annotated[str, StringConstraints(max_length=10_000)] | None = None
    webhook_url: HttpUrl | None = Field(default=None, max_length=256)
    webhook_auth_header_name: (
        Annotated[str, AfterValidator(_header_name), Field(min_length=1, max_length=256)] | None
    ) = None
    webhook_auth_header_value: (
        Annotated[str, AfterValidator(_header_value), Field(max_length=256)] | None
    ) = None
    client_reference_id: str | None = Field(default=None, max_length=MAX_REFERENCE_LENGTH)

    @model_validator(mode="after")
    def _one_audio_source(self) -> CreateTranscription:
        if (self.file_id is None) == (self.audio_url is None):
            raise ValueError("specify exactly one of file_id and audio_url")
        if (self.webhook_auth_header_name is None) != (self.webhook_auth_header_value is None):
            raise ValueError("webhook_auth_header_name and webhook_auth_header_value go together")
        if self.webhook_auth_header_name and not self.webhook_url:
            raise ValueError("webhook_auth_header_name needs webhook_url")
        if (self.min_speakers or self.max_speakers) and not self.enable_speaker_diarization:
            raise ValueError("min_speakers and max_speakers need enable_speaker_diarization")
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError("min_speakers is greater than max_speakers")
        return self


class CreateTemporaryKey(_Lenient):
    usage_type: Literal["transcribe_websocket", "tts_rt"]
    expires_in_seconds: int = Field(ge=1, le=3600)
    client_reference_id: str | None = Field(default=None, max_length=MAX_REFERENCE_LENGTH)
    single_use: bool | None = None
    max_session_duration_seconds: int | None = Field(default=None, ge=1, le=18_000)


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable")
    return value


class CreateUploadUrl(_Lenient):
    """POST /v1/files/upload-url: what the file uploaded to the URL will be."""

    filename: str = Field(min_length=1, max_length=1024)
    content_type: Annotated[str, AfterValidator(_printable), Field(max_length=256)] | None = None
    size: int | None = Field(default=None, ge=0)
    client_reference_id: str | None = Field(default=None, max_length=MAX_REFERENCE_LENGTH)


def _blank_as_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class InvoxPresign(_Lenient):
    """Invox generate-presigned-url (CONTRACTS §3.2)."""

    mimeType: str = Field(max_length=256)
    callbackUrl: Annotated[HttpUrl | None, BeforeValidator(_blank_as_none)] = Field(
        default=None, max_length=256
    )


class InvoxTranscriptionQuery(_Lenient):
    """Invox get-transcription (CONTRACTS §3.5)."""

    requestId: str = Field(min_length=1, max_length=64)
