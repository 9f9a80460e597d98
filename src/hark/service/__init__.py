"""Use cases (one module each) and `Hark`, the container wiring them to the storage, blob
and job ports the settings choose (container.py)."""

from hark.engine import EngineError  # what the engine refused: error_type and message
from hark.store import DATABASE_UNAVAILABLE, File, Transcription, TranscriptRow

from .auth import DEFAULT_PROJECT, NewKey, PermissionDenied, mask
from .container import Hark
from .corrections import SearchHit, TranscriptEdit
from .errors import (
    Conflict,
    FieldError,
    InsufficientStorage,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthenticated,
)
from .openai import AudioRequest
from .quotas import Limits
from .realtime import RealtimeConfig, RealtimeSession
from .requests import CreateTemporaryKey, CreateTranscription, CreateUploadUrl, InvoxPresign

__all__ = [
    "DATABASE_UNAVAILABLE",
    "DEFAULT_PROJECT",
    "AudioRequest",
    "Conflict",
    "CreateTemporaryKey",
    "CreateTranscription",
    "CreateUploadUrl",
    "EngineError",
    "FieldError",
    "File",
    "Hark",
    "InsufficientStorage",
    "InvalidRequest",
    "InvoxPresign",
    "Limits",
    "NewKey",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RealtimeConfig",
    "RealtimeSession",
    "SearchHit",
    "ServiceError",
    "ServiceUnavailable",
    "TooManyRequests",
    "TranscriptEdit",
    "TranscriptRow",
    "Transcription",
    "Unauthenticated",
    "mask",
]
