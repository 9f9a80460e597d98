"""Audio in, Transcript out. No HTTP and no database in here."""

from .asr import EngineConfig, WhisperEngine, get_engine, is_multilingual, model_languages
from .audio import MAX_CHANNELS, SAMPLE_RATE, decode_audio, decode_channels, probe_duration_ms
from .audio_stream import (
    CONTAINER_FORMATS,
    RAW_FORMATS,
    StreamDecoder,
    check_format,
    raw_as_wav,
    stream_decoder,
    wav_header,
)
from .batching import default_batch_size
from .diarization import diarization_features
from .languages import primary_language
from .pipeline import Pipeline, get_pipeline, get_translators
from .process import EngineCrashed, EngineProcess, EngineStopped, EngineStream, Supervision
from .streaming import END, FIN, StreamingConfig, StreamingRecognizer, StreamUpdate
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
    "END",
    "FIN",
    "MAX_CHANNELS",
    "RAW_FORMATS",
    "SAMPLE_RATE",
    "AudioDecodeError",
    "EngineConfig",
    "EngineCrashed",
    "EngineError",
    "EngineProcess",
    "EngineStopped",
    "EngineStream",
    "Pipeline",
    "ProgressCallback",
    "StreamDecoder",
    "StreamUpdate",
    "StreamingConfig",
    "StreamingRecognizer",
    "Supervision",
    "Token",
    "TranscribeOptions",
    "Transcript",
    "TranslationRequest",
    "Translators",
    "WhisperEngine",
    "check_format",
    "decode_audio",
    "decode_channels",
    "default_batch_size",
    "diarization_features",
    "get_engine",
    "get_pipeline",
    "get_translators",
    "is_multilingual",
    "model_languages",
    "primary_language",
    "probe_duration_ms",
    "raw_as_wav",
    "stream_decoder",
    "wav_header",
]
