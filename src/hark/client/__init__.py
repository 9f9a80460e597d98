"""The Hark Python client: sync `Client` and async `AsyncClient` over one sans-IO core.

Depends only on httpx and pydantic; importing it loads nothing of the server.

    from hark.client import Client

    with Client(api_key="hark_…", api_base_url="http://127.0.0.1:8000/v1") as client:
        transcript = client.stt.transcribe_and_wait_with_tokens(file="meeting.mp3")
        print(transcript.text)
        open("meeting.srt", "w").write(transcript.to_srt())
"""

from ._client import (
    API_BASE_URL_ENV,
    API_KEY_ENV,
    DEFAULT_API_BASE_URL,
    AsyncClient,
    BaseClient,
    Client,
)
from ._core import RetryPolicy
from .errors import (
    HarkAPIError,
    HarkAuthenticationError,
    HarkConflictError,
    HarkConnectionError,
    HarkError,
    HarkInvalidRequestError,
    HarkNotFoundError,
    HarkPermissionDeniedError,
    HarkRateLimitError,
    HarkServerError,
    HarkValidationError,
    InvalidWebhookSignatureError,
    ValidationErrorDetail,
)
from .types import (
    Count,
    CreateTemporaryApiKeyPayload,
    CreateTranscriptionConfig,
    CreateTranscriptionPayload,
    CreateUploadUrlPayload,
    File,
    FileList,
    Language,
    Model,
    ModelList,
    StructuredContext,
    StructuredContextGeneralItem,
    StructuredContextTranslationTerm,
    TemporaryApiKey,
    Token,
    Transcript,
    Transcription,
    TranscriptionList,
    TranscriptionTranscript,
    TranslationConfig,
    TranslationTarget,
    UploadUrl,
    WebhookAuthConfig,
    WebhookEvent,
)
from .webhooks import WebhooksAPI, compute_signature

__all__ = [
    "API_BASE_URL_ENV",
    "API_KEY_ENV",
    "DEFAULT_API_BASE_URL",
    "AsyncClient",
    "BaseClient",
    "Client",
    "Count",
    "CreateTemporaryApiKeyPayload",
    "CreateTranscriptionConfig",
    "CreateTranscriptionPayload",
    "CreateUploadUrlPayload",
    "File",
    "FileList",
    "HarkAPIError",
    "HarkAuthenticationError",
    "HarkConflictError",
    "HarkConnectionError",
    "HarkError",
    "HarkInvalidRequestError",
    "HarkNotFoundError",
    "HarkPermissionDeniedError",
    "HarkRateLimitError",
    "HarkServerError",
    "HarkValidationError",
    "InvalidWebhookSignatureError",
    "Language",
    "Model",
    "ModelList",
    "RetryPolicy",
    "StructuredContext",
    "StructuredContextGeneralItem",
    "StructuredContextTranslationTerm",
    "TemporaryApiKey",
    "Token",
    "Transcript",
    "Transcription",
    "TranscriptionList",
    "TranscriptionTranscript",
    "TranslationConfig",
    "TranslationTarget",
    "UploadUrl",
    "ValidationErrorDetail",
    "WebhookAuthConfig",
    "WebhookEvent",
    "WebhooksAPI",
    "compute_signature",
]
