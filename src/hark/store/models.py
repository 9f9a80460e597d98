"""Metadata tables. Audio lives in the blob store; rows keep only its key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (SQLite has no time zones), always returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # This project's own quotas, overriding the server-wide defaults ({"max_files": 50}).
    limits: Mapped[dict | None] = mapped_column(JSON)
    # The key its Invox callbacks are signed with (HMAC needs it in the clear, like
    # webhook_auth_header_value); made with the project's first Invox credential.
    invox_secret: Mapped[str | None] = mapped_column(String(128))
    # When a worker last took one of its jobs: projects take turns, longest-waiting first.
    last_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What its Hark webhooks are signed with, instead of HARK_WEBHOOK_SIGNING_SECRET.
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    # Private networks its URLs may reach besides HARK_ALLOWED_PRIVATE_NETWORKS (CIDRs).
    allowed_private_networks: Mapped[list | None] = mapped_column(JSON)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex
    key_prefix: Mapped[str] = mapped_column(String(16))  # shown in listings, never the key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Temporary keys (POST /v1/auth/temporary-api-key) authorize one kind of use only and
    # never the REST API; permanent keys have no usage_type.
    usage_type: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    single_use: Mapped[bool] = mapped_column(Boolean, default=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_reference_id: Mapped[str | None] = mapped_column(String(256))
    max_session_seconds: Mapped[int | None] = mapped_column(Integer)


class File(Base):
    __tablename__ = "files"
    __table_args__ = (
        Index("ix_files_project_created", "project_id", "created_at", "id"),
        Index("ix_files_created", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(256))
    client_reference_id: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Transcription(Base):
    __tablename__ = "transcriptions"
    __table_args__ = (
        Index("ix_transcriptions_project_created", "project_id", "created_at", "id"),
        Index("ix_transcriptions_status", "status"),
        Index("ix_transcriptions_created", "created_at"),
        Index("ix_transcriptions_queue", "status", "project_id", "created_at"),
        Index("ix_transcriptions_finished", "finished_at"),  # recent throughput (ETAs)
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    model: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[str | None] = mapped_column(String(36))  # no FK: deleting a file is allowed
    audio_url: Mapped[str | None] = mapped_column(String(4096))
    # audio_url jobs: the blob the download stage stored the audio in (None: not fetched
    # yet). Only fetched jobs are claimed for the engine, so a slow download holds no slot.
    audio_key: Mapped[str | None] = mapped_column(String(256))
    filename: Mapped[str] = mapped_column(String(1024))
    language_hints: Mapped[list[str] | None] = mapped_column(JSON)
    language_hints_strict: Mapped[bool | None] = mapped_column(Boolean)
    enable_speaker_diarization: Mapped[bool] = mapped_column(Boolean, default=False)
    # Hark extension (from the legacy gRPC API): bounds on the number of speakers found.
    min_speakers: Mapped[int | None] = mapped_column(Integer)
    max_speakers: Mapped[int | None] = mapped_column(Integer)
    enable_language_identification: Mapped[bool] = mapped_column(Boolean, default=False)
    # Hark extension: transcribe each audio channel on its own (stereo calls).
    enable_separate_recognition_per_channel: Mapped[bool] = mapped_column(Boolean, default=False)
    translation: Mapped[dict | None] = mapped_column(JSON)
    # Hark extension (the OpenAI door): {"temperature": t, "vad": {threshold, ...}}.
    decoder_options: Mapped[dict | None] = mapped_column(JSON)
    context: Mapped[dict | str | None] = mapped_column(JSON)
    webhook_url: Mapped[str | None] = mapped_column(String(256))
    webhook_auth_header_name: Mapped[str | None] = mapped_column(String(256))
    webhook_auth_header_value: Mapped[str | None] = mapped_column(String(256))
    webhook_status_code: Mapped[int | None] = mapped_column(Integer)
    client_reference_id: Mapped[str | None] = mapped_column(String(256))
    audio_duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    # While processing: the text decoded so far (relayed by the OpenAI door's streaming).
    partial_text: Mapped[str | None] = mapped_column(Text)
    error_type: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # While processing (or queued and being downloaded): who holds the job (a token new to
    # each claim) and until when. Only the holder may record progress or finish the job; an
    # expired lease is re-queued (a download's is simply claimed again).
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # While queued: when the job was last handed to the dispatcher (None: not yet, or the
    # queue could not be reached), so the job sweep can send it again.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)


class TranscriptRow(Base):
    __tablename__ = "transcripts"

    transcription_id: Mapped[str] = mapped_column(
        ForeignKey("transcriptions.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)
    tokens: Mapped[list[dict]] = mapped_column(JSON)
    # What the decoder reported beyond the tokens: {language, duration_ms, segments: [...]}
    # with each segment's own figures (avg_logprob, no_speech_prob, ...), for the OpenAI
    # door's verbose_json; the Soniox routes never show it. None for older transcripts.
    decoding: Mapped[dict | None] = mapped_column(JSON)
    # Corrections made after the job (the console, PATCH .../transcript): names for the
    # speaker labels ({"1": "Dr. Ruiz"}), what each edit changed, and when the last was made.
    # Word edits are applied to `tokens` and `text` themselves (timings never change).
    speaker_names: Mapped[dict[str, str] | None] = mapped_column(JSON)
    edits: Mapped[list[dict] | None] = mapped_column(JSON)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One webhook to deliver. Persisted in the same transaction that finishes the job,
    so a restart never loses one; retried until delivered or out of attempts."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    transcription_id: Mapped[str] = mapped_column(String(36), index=True)
    url: Mapped[str] = mapped_column(String(4096))
    header_name: Mapped[str | None] = mapped_column(String(256))
    header_value: Mapped[str | None] = mapped_column(String(256))
    payload: Mapped[str] = mapped_column(Text)  # the exact body sent (and signed)
    # What the body is: "hark" ({id, status}) or "invox" (an Invox Medical callback).
    kind: Mapped[str] = mapped_column(String(16), default="hark")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The sender ("host:pid") holding the current attempt's lease (until next_attempt_at).
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PresignedUpload(Base):
    """An upload URL handed out before the audio exists: POST /v1/files/upload-url ("file")
    or Invox generate-presigned-url ("invox", whose id is the Invox requestId). The file it
    creates gets the id chosen here; an Invox upload also starts a transcription."""

    __tablename__ = "presigned_uploads"
    __table_args__ = (Index("ix_presigned_uploads_project_state", "project_id", "state"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # file | invox
    # sha256 of the URL's token when Hark serves the PUT; None when the storage signs the
    # URL itself (S3) and the object is taken in on first use of the file id.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    storage_key: Mapped[str | None] = mapped_column(String(256))  # where S3 receives it
    filename: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str | None] = mapped_column(String(256))
    size: Mapped[int | None] = mapped_column(BigInteger)  # declared, then enforced
    client_reference_id: Mapped[str | None] = mapped_column(String(256))
    file_id: Mapped[str] = mapped_column(String(36), default=new_id)
    # pending -> receiving (a PUT is streaming in; back to pending if it fails) -> done;
    # refused: the storage held an object that did not fit (see error_message).
    state: Mapped[str] = mapped_column(String(16), default="pending")
    # Which process ("host:pid") is receiving it, since when: a crash's leftover is claimable.
    receiver: Mapped[str | None] = mapped_column(String(128))
    receiving_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_message: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Invox only: where the result goes, which credential asked, the job it started.
    callback_url: Mapped[str | None] = mapped_column(String(4096))
    app_id: Mapped[str | None] = mapped_column(String(64))
    transcription_id: Mapped[str | None] = mapped_column(String(36), index=True)


class InvoxCredential(Base):
    """An Invox app id + API key pair of a project (the key stored only as a hash)."""

    __tablename__ = "invox_credentials"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InvoxToken(Base):
    """A Bearer access token issued for a credential (stored only as a hash)."""

    __tablename__ = "invox_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    credential_id: Mapped[str] = mapped_column(
        ForeignKey("invox_credentials.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class IdempotencyRecord(Base):
    """What a create with an `Idempotency-Key` produced, so a retry returns the same thing."""

    __tablename__ = "idempotency_keys"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# Full-text search lives outside the ORM models, owned by migration 0010: on SQLite an FTS5
# virtual table (and the shadow tables SQLite keeps for it), on PostgreSQL an expression GIN
# index. Schema comparisons (autogenerate, tests) leave these alone.
SEARCH_OBJECTS = ("transcript_search", "ix_transcripts_search")


def managed_by_models(obj: object, name: str | None, type_: str, *_: object) -> bool:
    """For Alembic's `include_object`: False for the search objects above."""
    return not (name or "").startswith(SEARCH_OBJECTS)
