"""Audio formats as the API surfaces name them (the WebSocket's and gRPC's `audio_format`):
the engine owns the knowledge (engine/audio_stream.py); the API reaches it here."""

from hark.engine import (
    CONTAINER_FORMATS,
    MAX_CHANNELS,
    RAW_FORMATS,
    check_format,
    raw_as_wav,
    wav_header,
)

__all__ = [
    "CONTAINER_FORMATS",
    "MAX_CHANNELS",
    "RAW_FORMATS",
    "check_format",
    "raw_as_wav",
    "wav_header",
]
