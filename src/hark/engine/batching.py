"""Batching across jobs: speech windows from every transcription running in this process go
through the model together (one encoder pass and one beam search per batch).

Each caller (one thread per job) finds its speech with the VAD, a block of audio at a time,
cuts it into windows of at most 30 s, computes their features and submits them; one
scheduler thread gathers windows from all callers into batches of up to `batch_size`, runs
CTranslate2's batched encode, generate and align, and hands each caller its words back. A
caller has one window in the model at a time (each window is conditioned on the text of the
one before, as in faster-whisper's sequential transcribe), so memory stays bounded however
long the audio, and windows are taken round-robin across callers, so a long file delays a
short one by at most one batch. See docs/scheduler.md.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import math
import mmap
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

import numpy as np

from .audio import SAMPLE_RATE

log = logging.getLogger(__name__)

WINDOW_S = 30  # Whisper's input length
VAD_BLOCK_S = 600  # the VAD reads this much audio at a time (bounded memory)
_FRAMES = 3000  # feature frames in one window
_PROGRESS_TICK = 0.25  # seconds between progress estimates while a job waits on the model
# Each window's words are timed on its own timeline: windows of a batch are spaced this far
# apart for faster-whisper's alignment heuristics, so no window's words depend on another's.
_SPACING_S = 1000
# Each window is conditioned on up to this many tokens of the job's earlier text, as
# faster-whisper's sequential engine is (its limit, max_length // 2 - 1): fewer costs
# accuracy on long recordings (measured), and long files' windows then all have prompts of
# this length, so they share batches across jobs.
PREVIOUS_TOKENS = 223
# A window whose text compresses better than this is taken for a repetition loop (faster-
# whisper's compression_ratio_threshold) and is not passed on to the next window.
_LOOP_RATIO = 2.4
# Silence after a batch's longest window in the encoder's shortened input: with 2 s Whisper
# tiny repeats short utterances now and then (measured on the dev set), with 4 s it does not.
TAIL_PAD_S = 4
TOKENS_PER_S = 8  # a window's token budget; speech runs at about 3-4 a second


@dataclass(frozen=True)
class BatchSettings:
    batch_size: int = 8  # windows per batch; 1 turns batching off
    wait_ms: float = 30.0  # longest wait for a fuller batch while another job prepares one

    @property
    def enabled(self) -> bool:
        return self.batch_size > 1


@dataclass(frozen=True)
class Word:
    text: str
    start: float  # seconds in the job's audio
    end: float
    probability: float


@dataclass
class _Window:
    caller: int
    key: tuple  # windows share a batch only with windows of the same key
    features: np.ndarray  # (n_mels, 3000)
    chunks: list[dict]  # the speech (samples of the job's audio) packed into this window
    prompt: list[int]
    tokenizer: object  # faster_whisper.tokenizer.Tokenizer, the same for one key
    suppressed: list[int]
    future: Future = field(default_factory=Future)
    started: float = 0.0  # when its batch went into the model (monotonic)
    expected: float = 0.0  # how long that batch is expected to take, seconds

    @property
    def duration(self) -> float:
        return sum(c["end"] - c["start"] for c in self.chunks) / SAMPLE_RATE


class BatchScheduler:
    """One per loaded model. `transcribe` is called from many threads at once."""

    def __init__(self, model, settings: BatchSettings, beam_size: int) -> None:
        self.model = model  # faster_whisper.WhisperModel
        self.settings = settings
        self.beam_size = beam_size
        self._cond = threading.Condition()
        self._pending: dict[int, deque[_Window]] = {}  # caller -> its windows, oldest first
        self._preparing = 0  # callers computing windows right now (worth waiting for)
        self._callers = itertools.count()
        self._turn = 0  # round-robin position among callers
        self._seconds_per_window = 1.0  # measured (moving average), for progress estimates
        self._thread = threading.Thread(target=self._loop, name="hark-batcher", daemon=True)
        self._thread.start()
        self.batches: list[int] = []  # sizes of recent batches (tests, benchmarks)

    # ---- caller side ----------------------------------------------------------------------

    def transcribe(
        self,
        audio: np.ndarray,
        tokenizer,
        prompt: str | None,
        hotwords: str | None,
        on_progress: Callable[[float], None] | None = None,
    ) -> list[Word]:
        """Words of 16 kHz mono `audio` (an array or a memory map), in order."""
        from faster_whisper.transcribe import get_suppressed_tokens

        model = self.model
        # What the window is conditioned on, as faster-whisper's sequential transcribe does:
        # the context prompt, then the text of the job's earlier windows.
        previous = tokenizer.encode(prompt) if prompt else []

        def window_prompt() -> tuple[tuple, list[int]]:
            tokens = previous[-PREVIOUS_TOKENS:]
            prompt_tokens = model.get_prompt(
                tokenizer, previous_tokens=tokens, without_timestamps=True, hotwords=hotwords
            )
            # CTranslate2 needs <|startoftranscript|> at one position across a batch:
            # windows share a batch only with prompts of the same length.
            return (tokenizer.language_code, tokenizer.task, len(prompt_tokens)), prompt_tokens

        suppressed = get_suppressed_tokens(tokenizer, [-1])
        caller = next(self._callers)
        duration = len(audio) / SAMPLE_RATE
        in_flight: deque[_Window] = deque()
        words: list[Word] = []

        reported = 0.0

        def report(position: float) -> None:
            nonlocal reported
            if on_progress and duration > 0 and position > reported:
                reported = position
                on_progress(min(position / duration, 1.0))

        def collect_one() -> None:
            window = in_flight.popleft()
            while True:
                try:
                    window_words, text_tokens = window.future.result(timeout=_PROGRESS_TICK)
                    words.extend(window_words)
                    if looping(tokenizer, text_tokens):
                        previous.clear()  # do not carry a loop into the next window
                    else:
                        previous.extend(text_tokens)
                        del previous[:-PREVIOUS_TOKENS]
                    break
                except FutureTimeout:
                    report(self._estimate(window, in_flight))
            report(window.chunks[-1]["end"] / SAMPLE_RATE)

        with self._cond:
            self._pending[caller] = deque()
            self._preparing += 1
        try:
            for chunks in speech_windows(audio):
                # The next window's features are computed while the previous window is in
                # the model; its prompt needs that window's text, so it waits for it.
                features = window_features(model, audio, chunks)
                if in_flight:
                    self._set_preparing(-1)
                    try:
                        collect_one()
                    finally:
                        self._set_preparing(+1)
                key, prompt_tokens = window_prompt()
                window = _Window(
                    caller, key, features, chunks, prompt_tokens, tokenizer, suppressed
                )
                with self._cond:
                    self._pending[caller].append(window)
                    self._cond.notify_all()
                in_flight.append(window)
            self._set_preparing(-1)
            try:
                while in_flight:
                    collect_one()
            finally:
                self._set_preparing(+1)
        finally:
            with self._cond:
                self._preparing -= 1
                for window in self._pending.pop(caller, ()):  # left behind by a failure
                    window.future.cancel()
                self._cond.notify_all()
        return words

    def _estimate(self, first: _Window, rest: deque[_Window]) -> float:
        """Where in the audio (seconds) the job's recognition has got to, by now: each window
        in the model counted in proportion to its batch's elapsed share of its expected time
        (never the whole window: the result moves it there)."""
        position = first.chunks[0]["start"] / SAMPLE_RATE
        for window in (first, *rest):
            if not window.started:
                break
            share = min((time.monotonic() - window.started) / window.expected, 0.9)
            start = window.chunks[0]["start"] / SAMPLE_RATE
            position = start + share * (window.chunks[-1]["end"] / SAMPLE_RATE - start)
            if share < 0.9:
                break
        return position

    def _set_preparing(self, delta: int) -> None:
        with self._cond:
            self._preparing += delta
            self._cond.notify_all()

    # ---- scheduler side -------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            try:
                self._run(batch)
            except Exception as exc:  # one bad window must not fail its batch-mates
                if len(batch) == 1:
                    batch[0].future.set_exception(exc)
                    continue
                log.warning("a batch failed (%s); running its windows one by one", exc)
                for window in batch:
                    if window.future.done():  # decoded again at 30 s before the failure
                        continue
                    try:
                        self._run([window])
                    except Exception as single:
                        window.future.set_exception(single)

    def _next_batch(self) -> list[_Window]:
        """Up to batch_size windows of one key, taken round-robin across callers. Waits up to
        wait_ms for a fuller batch, only while some caller is still preparing windows."""
        size, wait = self.settings.batch_size, self.settings.wait_ms / 1000
        with self._cond:
            while not any(self._pending.values()):
                self._cond.wait()
            deadline = time.monotonic() + wait
            while self._preparing and self._queued() < size:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            callers = [c for c, q in self._pending.items() if q]
            start = self._turn % len(callers)
            callers = callers[start:] + callers[:start]
            key = self._pending[callers[0]][0].key
            batch: list[_Window] = []
            while len(batch) < size:
                took = False
                for caller in callers:
                    queue = self._pending[caller]
                    if queue and queue[0].key == key and len(batch) < size:
                        batch.append(queue.popleft())
                        took = True
                if not took:
                    break
            self._turn += 1
        batch = [w for w in batch if w.future.set_running_or_notify_cancel()]
        now, expected = time.monotonic(), self._seconds_per_window * max(len(batch), 1)
        for window in batch:
            window.started, window.expected = now, expected
        return batch

    def _queued(self) -> int:
        return sum(len(q) for q in self._pending.values())

    def _run(self, batch: list[_Window], trimmed: bool = True) -> None:
        """One batch through the model. The encoder reads only the batch's longest window
        and TAIL_PAD_S of silence, not Whisper's padded 30 s: most windows of short jobs
        are a few seconds, and the encoder's cost is proportional to its input. A window
        whose hypothesis then looks wrong (it ran into its token budget, loops, or says its
        text twice) is decoded again with the whole 30 s, faster-whisper's way."""
        if not batch:
            return
        model = self.model
        tokenizer = batch[0].tokenizer
        longest = max(w.duration for w in batch)
        frames = encoder_frames(longest, TAIL_PAD_S) if trimmed else _FRAMES
        trimmed = frames < _FRAMES
        features = np.stack([w.features[..., :frames] for w in batch])
        encoder_output = model.encode(np.ascontiguousarray(features))
        prompt_length = len(batch[0].prompt)  # the same across a batch (its key)
        max_length = model.max_length
        if trimmed:  # only a loop reaches the budget, and it should stop there
            max_length = min(max_length, prompt_length + token_budget(longest))
        results = model.model.generate(
            encoder_output,
            [w.prompt for w in batch],
            beam_size=self.beam_size,
            max_length=max_length,
            suppress_blank=True,
            suppress_tokens=batch[0].suppressed,
            return_scores=True,
            return_no_speech_prob=True,
        )
        texts = [[t for t in r.sequences_ids[0] if t < tokenizer.eot] for r in results]
        again = {
            index
            for index, (window, tokens) in enumerate(zip(batch, texts, strict=True))
            if trimmed and suspect(tokenizer, tokens, token_budget(window.duration))
        }
        if again:
            self._run([batch[i] for i in sorted(again)], trimmed=False)
        segments = []
        sizes = []
        for index, (window, tokens) in enumerate(zip(batch, texts, strict=True)):
            offset = index * _SPACING_S
            segments.append(
                [
                    {
                        "tokens": [] if index in again else tokens,
                        "start": offset,
                        "end": offset + window.duration,
                        "seek": offset * model.frames_per_second,
                    }
                ]
            )
            sizes.append(min(int(math.ceil(window.duration) * model.frames_per_second), frames))
        model.add_word_timestamps(segments, tokenizer, encoder_output, sizes, *punctuation(), 0.0)
        self.batches = [*self.batches[-999:], len(batch)]
        seconds = (time.monotonic() - batch[0].started) / len(batch)
        self._seconds_per_window = 0.7 * self._seconds_per_window + 0.3 * seconds
        for index, (window, segment) in enumerate(zip(batch, segments, strict=True)):
            if index not in again:
                words = _restore(segment[0].get("words") or [], window.chunks, index * _SPACING_S)
                window.future.set_result((words, texts[index]))


def encoder_frames(seconds: float, pad_s: float) -> int:
    """Feature frames the encoder reads for `seconds` of speech: whole seconds (so it sees
    few distinct shapes) with `pad_s` of silence after, at most Whisper's 30 s."""
    return min(_FRAMES, math.ceil(seconds + pad_s) * 100)


def token_budget(seconds: float) -> int:
    """Tokens a window of `seconds` may take, far above speech (3-4 a second): only a
    repetition loop, which a shortened encoder input invites, runs into it."""
    return int(TOKENS_PER_S * seconds) + 10


def suspect(tokenizer, tokens: list[int], budget: int) -> bool:
    """Whether a hypothesis from a shortened encoder input looks wrong: it ran into its
    token budget, loops, or ends by saying its text again (`x y z x y z`)."""
    return len(tokens) >= budget - 1 or looping(tokenizer, tokens) or said_twice(tokens)


def said_twice(tokens: list[int]) -> bool:
    """Whether the hypothesis ends with a phrase of 3 or more tokens said twice over, the
    two covering at least half of it (a hallucinated repetition, rarely real speech)."""
    for period in range(max(3, -(-len(tokens) // 4)), len(tokens) // 2 + 1):
        if tokens[-period:] == tokens[-2 * period : -period]:
            return True
    return False


def first_round(tokens: list[int]) -> list[int] | None:
    """A hypothesis that loops to the end (`x y z y z y z ...`) cut after the first round of
    its loop (`x y z`); None when it does not end in a loop."""
    for period in range(1, len(tokens) // 3 + 1):
        start = len(tokens) - period
        while start >= period and tokens[start - period : start] == tokens[start : start + period]:
            start -= period
        if len(tokens) - start >= 3 * period:  # at least three rounds: a loop, not a repeat
            while start > 0 and tokens[start - 1] == tokens[start - 1 + period]:
                start -= 1  # the loop began earlier, in another phase
            return tokens[: start + period]
    return None


def looping(tokenizer, tokens: list[int]) -> bool:
    """Whether decoded `tokens` look like a repetition loop (faster-whisper's test)."""
    from faster_whisper.transcribe import get_compression_ratio

    return bool(tokens) and get_compression_ratio(tokenizer.decode(tokens)) > _LOOP_RATIO


def speech_windows(audio: np.ndarray) -> Iterator[list[dict]]:
    """The speech in `audio` packed into windows of at most 30 s, each a list of speech
    chunks (sample ranges), found by the VAD one block at a time."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=WINDOW_S, min_silence_duration_ms=160)
    block = VAD_BLOCK_S * SAMPLE_RATE
    window: list[dict] = []
    start = 0
    while start < len(audio):
        end = min(start + block, len(audio))
        chunks = get_speech_timestamps(np.asarray(audio[start:end]), options)
        release(audio, start, end)
        running_on = chunks and chunks[-1]["end"] >= end - start - SAMPLE_RATE
        if end < len(audio) and running_on and chunks[-1]["start"] > 0:
            # Speech running into the block's end: read it again at the head of the next block.
            end = start + chunks.pop()["start"]
        for chunk in chunks:
            chunk = {"start": chunk["start"] + start, "end": chunk["end"] + start}
            if window and _length([*window, chunk]) > WINDOW_S * SAMPLE_RATE:
                cut = _pause_before_end(window, chunk)
                yield window[:cut]
                window = window[cut:]
            window.append(chunk)
        start = end
    if window:
        yield window


def _length(chunks: list[dict]) -> int:
    return sum(c["end"] - c["start"] for c in chunks)


def _pause_before_end(window: list[dict], following: dict) -> int:
    """Where to end a full window: after its last chunk followed by a pause, so the window
    does not end mid-sentence where the VAD split long speech (Whisper tends to drop such
    an unfinished sentence); the chunks after it start the next window, when they fit."""
    chunks = [*window, following]
    for cut in range(len(window), 0, -1):
        if chunks[cut - 1]["end"] < chunks[cut]["start"]:
            if _length(chunks[cut:]) <= WINDOW_S * SAMPLE_RATE:
                return cut
            break
    return len(window)


def window_features(model, audio: np.ndarray, chunks: list[dict]) -> np.ndarray:
    from faster_whisper.audio import pad_or_trim

    samples = np.concatenate([np.asarray(audio[c["start"] : c["end"]]) for c in chunks])
    release(audio, chunks[0]["start"], chunks[-1]["end"])
    return pad_or_trim(model.feature_extractor(samples)[..., :-1])[..., :_FRAMES]


def release(audio: np.ndarray, start: int, end: int) -> None:
    """Let the kernel drop pages of a memory-mapped audio file once read (they are read from
    the file again if needed): resident memory then stays bounded however long the audio."""
    mapped = getattr(audio, "_mmap", None)
    if mapped is None or not hasattr(mapped, "madvise"):
        return
    origin = np.frombuffer(mapped, dtype=np.uint8).__array_interface__["data"][0]
    here = audio.__array_interface__["data"][0] - origin
    page = mmap.PAGESIZE
    first = -(-(here + start * audio.itemsize) // page) * page  # whole pages inside only
    last = (here + end * audio.itemsize) // page * page
    if last > first:
        mapped.madvise(mmap.MADV_DONTNEED, first, last - first)


def _restore(words: list[dict], chunks: list[dict], offset: float) -> list[Word]:
    """Words timed in the window (speech packed together) -> times in the job's audio."""
    from faster_whisper.vad import SpeechTimestampsMap

    if not words:
        return []
    base = chunks[0]["start"]
    timeline = SpeechTimestampsMap(
        [{"start": c["start"] - base, "end": c["end"] - base} for c in chunks], SAMPLE_RATE
    )
    last = chunks[-1]["end"] / SAMPLE_RATE  # alignment can overshoot the speech a little
    out = []
    for word in words:
        start, end = word["start"] - offset, word["end"] - offset
        index = timeline.get_chunk_index((start + end) / 2)
        end = min(base / SAMPLE_RATE + timeline.get_original_time(end, index), last)
        start = min(base / SAMPLE_RATE + timeline.get_original_time(start, index), end)
        out.append(Word(word["word"], start, end, float(word["probability"])))
    return out


@functools.cache
def punctuation() -> tuple[str, str]:
    """faster-whisper's defaults: punctuation joined to the next and to the previous word."""
    from faster_whisper import WhisperModel

    parameters = inspect.signature(WhisperModel.transcribe).parameters
    return (
        parameters["prepend_punctuations"].default,
        parameters["append_punctuations"].default,
    )


def default_batch_size(device: str) -> int:
    """Windows per batch: 8 on a CPU (past that, a batch only waits longer); on CUDA, as many
    as the free memory holds at ~256 MiB a window (large-v3, beam 5), between 8 and 64."""
    if device != "cuda":
        return 8
    free = _free_gpu_bytes()
    return 16 if free is None else max(8, min(64, free // (256 * 1024**2)))


def _free_gpu_bytes() -> int | None:
    """Free memory of the first visible GPU, from nvidia-smi (None: cannot tell)."""
    import subprocess

    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout  # fmt: skip
        return int(out.split()[0]) * 1024**2
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
