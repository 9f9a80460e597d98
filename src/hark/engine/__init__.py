"""Audio in, Transcript out. No HTTP and no database in here."""

from .asr import EngineConfig, WhisperEngine, get_engine, is_multilingual, model_languages
from .audio import (
    CONTAINER_FORMATS,
    RAW_FORMATS,
    SAMPLE_RATE,
    decode_audio,
    decode_channels,
    probe_duration_ms,
    wav_header,
)
from .batching import default_batch_size
from .languages import primary_language
from .pipeline import Pipeline, get_pipeline, get_translators
from .transcript import (
    AudioDecodeError,
    EngineError,
    ProgressCallback,
    Token,
    TranscribeOptions,
    Transcript,
    TranslationRequest,
)
from .translation import Translators

__all__ = [
    "CONTAINER_FORMATS",
    "RAW_FORMATS",
    "SAMPLE_RATE",
    "AudioDecodeError",
    "EngineConfig",
    "EngineError",
    "Pipeline",
    "ProgressCallback",
    "Token",
    "TranscribeOptions",
    "Transcript",
    "TranslationRequest",
    "Translators",
    "WhisperEngine",
    "decode_audio",
    "decode_channels",
    "default_batch_size",
    "get_engine",
    "get_pipeline",
    "get_translators",
    "is_multilingual",
    "model_languages",
    "primary_language",
    "probe_duration_ms",
    "wav_header",
]
