"""Use cases (one module each) and `Hark`, the container wiring them to the storage, blob
and job ports the settings choose (container.py)."""

from hark.engine import EngineError  # what the engine refused: error_type and message
from hark.store import File, Transcription, TranscriptRow

from .auth import DEFAULT_PROJECT, NewKey, PermissionDenied, mask
from .container import Hark
from .corrections import SearchHit, TranscriptEdit
from .errors import (
    Conflict,
    FieldError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    TooManyRequests,
    Unauthenticated,
)
from .openai import AudioRequest
from .quotas import Limits
from .realtime import RealtimeConfig, RealtimeSession
from .requests import CreateTemporaryKey, CreateTranscription, CreateUploadUrl, InvoxPresign

__all__ = [
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
    "TooManyRequests",
    "TranscriptEdit",
    "TranscriptRow",
    "Transcription",
    "Unauthenticated",
    "mask",
]
