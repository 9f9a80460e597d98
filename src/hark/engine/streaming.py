"""Live recognition on the batch model: samples in as they arrive, final and non-final
tokens out.

The policy is LocalAgreement-2 (Macháček et al., "Turning Whisper into Real-Time
Transcription System", the whisper_streaming project): every `update_seconds` of new
audio the unconfirmed tail is decoded again; the longest common prefix of two consecutive
hypotheses becomes final (each final token is emitted once), the rest goes out as the
non-final tail. The buffer is cut at committed sentence ends, so an update never decodes
more than about `max_buffer_seconds`, however long the stream runs. Silero VAD (as shipped
with faster-whisper) skips silence as it arrives and finds endpoints.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field, replace

import numpy as np

from .asr import WhisperEngine
from .audio import SAMPLE_RATE
from .terms import respell, spellings
from .transcript import Token, TranscribeOptions, ends_sentence

FIN = "<fin>"  # answers a finalize request: everything before it is final
END = "<end>"  # a detected endpoint: the speaker stopped, everything before it is final
PROMPT_CHARS = 200  # committed text given to Whisper as the context of the next window
PAD = SAMPLE_RATE * 3 // 10  # audio kept before speech when silence is cut away


@dataclass(frozen=True)
class StreamingConfig:
    update_seconds: float = 0.5  # new audio between two decodes of the tail
    min_window_seconds: float = 1.0  # shorter windows are too ambiguous to decode
    trim_seconds: float = 10.0  # beyond this, cut the buffer at a committed sentence end
    max_buffer_seconds: float = 20.0  # beyond this, cut at the last committed word
    beam_size: int = 1
    endpoint_delay_ms: int | None = None  # None: no endpoint detection


@dataclass
class StreamUpdate:
    """What changed: `final` tokens (new, never repeated), the whole current non-final
    tail, and how far the audio is final / processed (ms from the start of the stream)."""

    final: list[Token] = field(default_factory=list)
    tentative: list[Token] = field(default_factory=list)
    final_ms: int = 0
    total_ms: int = 0
    # Time the recogniser spent on this update (the benchmark of the engine-process
    # boundary takes it off each round trip).
    compute_ms: float = 0.0


def _key(token: Token) -> str:
    return re.sub(r"[^\w']", "", token.text.lower())


class StreamingRecognizer:
    """One stream. Not thread-safe: feed it from one thread at a time."""

    def __init__(
        self,
        engine: WhisperEngine,
        options: TranscribeOptions = TranscribeOptions(),
        config: StreamingConfig = StreamingConfig(),
    ) -> None:
        self.engine = engine
        self.options = options
        self.config = config
        self._spellings = spellings(options.hotwords, options.prompt)
        self._buffer = np.zeros(0, np.float32)
        self._offset = 0  # stream sample index of _buffer[0]
        self._received = 0
        self._decoded_at = 0
        self._language: str | None = None
        self._language_known = not engine.multilingual
        # Committed text whose audio was cut off the buffer (the prompt: Whisper must not
        # be told what the audio it is about to hear says), and committed tokens still
        # inside the buffer.
        self._scrolled = ""
        self._committed: list[Token] = []
        self._committed_end_ms = 0
        self._started = False  # a token was committed (later ones keep their spaces)
        self._previous: list[Token] = []  # the last hypothesis, after the committed part
        self._final_ms = 0
        self._speech_pending = False  # speech heard since the last endpoint or finalize
        self._speech_end_ms = 0

    @property
    def total_ms(self) -> int:
        return self._received * 1000 // SAMPLE_RATE

    def feed(self, samples: np.ndarray, decode: bool = True) -> StreamUpdate | None:
        """Add 16 kHz mono samples; an update once enough new audio arrived, else None
        (always None without `decode`: for audio that is finalized right away)."""
        if len(samples):
            self._buffer = np.concatenate([self._buffer, samples.astype(np.float32)])
            self._received += len(samples)
        if not decode:
            return None
        if (self._received - self._decoded_at) < self.config.update_seconds * SAMPLE_RATE:
            return None
        return self._update()

    def finalize(self, marker: str | None = FIN) -> StreamUpdate:
        """Make everything heard so far final (then `marker`, if any)."""
        update = self._update(commit_all=True)
        if marker:
            at = self.total_ms
            update.final.append(Token(text=marker, start_ms=at, end_ms=at, confidence=1.0))
        return update

    def _ms(self, sample: int) -> int:
        return (self._offset + sample) * 1000 // SAMPLE_RATE

    def _update(self, commit_all: bool = False) -> StreamUpdate:
        started = time.perf_counter()
        self._decoded_at = self._received
        speech = self._speech()
        ended: list[Token] = []  # utterances that ended inside the new audio
        while (split := self._endpoint_inside(speech)) is not None:
            ended += self._settle_before(split)
            speech = [
                {"start": seg["start"] - split, "end": seg["end"] - split}
                for seg in speech
                if seg["start"] >= split
            ]
        if speech:
            self._speech_pending = True
            self._speech_end_ms = self._ms(speech[-1]["end"])
        endpoint = (
            self.config.endpoint_delay_ms is not None
            and self._speech_pending
            and self.total_ms - self._speech_end_ms >= self.config.endpoint_delay_ms
        )
        settle = commit_all or endpoint
        final: list[Token] = []
        if not speech and not self._previous:
            self._cut(len(self._buffer) - PAD)  # silence only: nothing to decode
        elif not settle and len(self._buffer) < self.config.min_window_seconds * SAMPLE_RATE:
            pass  # wait for more context
        else:
            if speech and not self._previous and speech[0]["start"] > PAD:
                self._cut(speech[0]["start"] - PAD)  # skip the silence before the speech
            hypothesis = self._decode()
            agreed = len(hypothesis) if settle else self._agreed(hypothesis)
            final, self._previous = self._commit(hypothesis[:agreed]), hypothesis[agreed:]
            if settle:
                self._cut(len(self._buffer))
            else:
                self._trim()
        update = self._result(final, settle)
        update.final[:0] = ended
        if settle:
            self._speech_pending = False
        if endpoint:
            at = self.total_ms
            update.final.append(Token(text=END, start_ms=at, end_ms=at, confidence=1.0))
        update.compute_ms = (time.perf_counter() - started) * 1000
        return update

    def _endpoint_inside(self, speech: list[dict]) -> int | None:
        """Where speech stopped for longer than the endpoint delay and then went on (audio
        that arrived in one piece, e.g. after a slow decode), as a buffer index."""
        if self.config.endpoint_delay_ms is None:
            return None
        gap = self.config.endpoint_delay_ms * SAMPLE_RATE // 1000
        for before, after in itertools.pairwise(speech):
            if after["start"] - before["end"] >= gap:
                return before["end"]
        return None

    def _settle_before(self, split: int) -> list[Token]:
        """Make the audio before `split` final, followed by <end>, and cut it off."""
        whole, self._buffer = self._buffer, self._buffer[:split]
        final = self._commit(self._decode())
        self._buffer, self._previous = whole, []
        at = self._ms(split) + (self.config.endpoint_delay_ms or 0)
        self._cut(split)
        self._speech_pending = False
        return [*final, Token(text=END, start_ms=at, end_ms=at, confidence=1.0)]

    def _agreed(self, hypothesis: list[Token]) -> int:
        """How many leading tokens of `hypothesis` to commit: those the previous one agrees
        on, and when the buffer outgrew its bound, those older than `trim_seconds`."""
        agreed = 0
        for old, new in zip(self._previous, hypothesis, strict=False):
            if _key(old) != _key(new):
                break
            agreed += 1
        if len(self._buffer) > self.config.max_buffer_seconds * SAMPLE_RATE:
            horizon = self.total_ms - int(self.config.trim_seconds * 1000)
            while agreed < len(hypothesis) and (hypothesis[agreed].end_ms or 0) < horizon:
                agreed += 1
        return agreed

    def _result(self, final: list[Token], settled: bool) -> StreamUpdate:
        if settled:
            final_ms = self.total_ms
        elif self._previous:
            final_ms = self._previous[0].start_ms or 0
        else:
            final_ms = max(self._committed_end_ms, self._ms(0))
        self._final_ms = max(self._final_ms, final_ms)
        # Context terms come out as the user spelled them, as in batch (terms.py).
        tentative = respell(list(self._previous), self._spellings)
        return StreamUpdate(
            respell(final, self._spellings), tentative, self._final_ms, self.total_ms
        )

    def _speech(self) -> list[dict]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        options = VadOptions(min_silence_duration_ms=300, speech_pad_ms=100)
        return get_speech_timestamps(self._buffer, options) if len(self._buffer) else []

    def _decode(self) -> list[Token]:
        if not self._language_known and len(self._buffer) >= SAMPLE_RATE:
            self._language = self.engine.language_for(self._buffer, self.options)
            self._language_known = True
        prompt = "\n".join(p for p in (self.options.prompt, self._scrolled) if p)
        tokens = self.engine.decode_window(
            self._buffer,
            self._language if self._language_known else None,
            prompt[-1000:],  # Whisper's prompt holds about 224 tokens
            self.options.hotwords,
            self._ms(0),
            self.config.beam_size,
        )
        # Words that end before the committed point were committed from an earlier window.
        tokens = [t for t in tokens if (t.end_ms or 0) > self._committed_end_ms + 50 and _key(t)]
        return self._after_committed(tokens)

    def _after_committed(self, tokens: list[Token]) -> list[Token]:
        """Drop a repeat of the last committed words at the start of the window (its
        timestamps may put them a little after the committed point)."""
        tail = [_key(t) for t in self._committed[-5:]]
        for n in range(min(len(tail), len(tokens)), 0, -1):
            if tail[-n:] == [_key(t) for t in tokens[:n]]:
                return tokens[n:]
        return tokens

    def _commit(self, tokens: list[Token]) -> list[Token]:
        """Final tokens, spaced for concatenation; remembered as context."""
        out = []
        for token in tokens:
            text = token.text.strip()
            if self._started and token.text[:1].isspace():
                text = " " + text
            self._started = True
            out.append(replace(token, text=text))
            self._committed.append(out[-1])
            self._committed_end_ms = max(self._committed_end_ms, token.end_ms or 0)
        return out

    def _trim(self) -> None:
        """Cut committed audio off the buffer so an update's cost stays bounded."""
        seconds = len(self._buffer) / SAMPLE_RATE
        if seconds <= self.config.trim_seconds or not self._started:
            return
        if seconds > self.config.max_buffer_seconds or (
            self._committed and ends_sentence(self._committed[-1].text)
        ):
            self._cut((self._committed_end_ms - self._ms(0)) * SAMPLE_RATE // 1000)

    def _cut(self, samples: int) -> None:
        samples = max(0, min(samples, len(self._buffer)))
        self._buffer = self._buffer[samples:]
        self._offset += samples
        start_ms = self._ms(0)
        while self._committed and (self._committed[0].end_ms or 0) <= start_ms:
            self._scrolled = (self._scrolled + self._committed.pop(0).text)[-PROMPT_CHARS:]
