"""Translation of transcripts, sentence by sentence, by whichever installed engine serves the
language pair:

- CTranslate2 translation models (OPUS-MT / Argos Translate packages: `model/`,
  `sentencepiece.model`, `metadata.json` naming `from_code` and `to_code`) found in a
  configured directory;
- Apertium language pairs installed as Debian packages (`apertium`, `apertium-eng-spa`);
- Whisper's own speech translation (any language -> English) with a multilingual model, which
  translates the sentence's audio rather than its text.

The first engine in that order that has a pair serves it."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from .audio import SAMPLE_RATE
from .transcript import EngineError, ProgressCallback, Token, TranslationRequest, sentences

log = logging.getLogger(__name__)

Pair = tuple[str, str]  # (source, target) language codes


@dataclass(frozen=True)
class Sentence:
    text: str
    start_ms: int | None = None
    end_ms: int | None = None


class Translator(Protocol):
    name: str

    def pairs(self) -> set[Pair]: ...

    def translate(
        self, sentences: list[Sentence], pair: Pair, audio: np.ndarray | None
    ) -> list[str]:
        """One translation per sentence; `audio` (16 kHz mono) is the recording the
        sentences' timings refer to, for engines that translate speech."""
        ...


class CTranslate2Translator:
    """One OPUS-MT/Argos model directory; the model loads on first use."""

    name = "ctranslate2"

    def __init__(self, path: Path, pair: Pair) -> None:
        self.path = path
        self.pair = pair
        self._lock = threading.Lock()

    @classmethod
    def find(cls, directory: Path) -> list[CTranslate2Translator]:
        """Every model package directly under `directory` (unreadable ones are skipped)."""
        found = []
        for metadata in sorted(directory.glob("*/metadata.json")):
            package = metadata.parent
            try:
                meta = json.loads(metadata.read_text())
                pair = (meta["from_code"], meta["to_code"])
            except (OSError, ValueError, KeyError) as exc:
                log.warning("skipping translation model %s: %s", package, exc)
                continue
            if (package / "model" / "model.bin").is_file() and (
                package / "sentencepiece.model"
            ).is_file():
                found.append(cls(package, pair))
        return found

    def pairs(self) -> set[Pair]:
        return {self.pair}

    @cached_property
    def _model(self):
        import ctranslate2
        import sentencepiece

        translator = ctranslate2.Translator(str(self.path / "model"), device="cpu")
        pieces = sentencepiece.SentencePieceProcessor(
            model_file=str(self.path / "sentencepiece.model")
        )
        return translator, pieces

    def translate(
        self, sentences: list[Sentence], pair: Pair, audio: np.ndarray | None = None
    ) -> list[str]:
        with self._lock:  # loading is not thread-safe; translating is cheap next to ASR
            translator, pieces = self._model
            batch = [pieces.encode(s.text, out_type=str) for s in sentences]
            results = translator.translate_batch(batch, beam_size=4)
        # The shared SentencePiece model does not round-trip target pieces through decode:
        # join them and turn the word-boundary marks into spaces.
        return ["".join(r.hypotheses[0]).replace("\u2581", " ").strip() for r in results]


# Apertium names languages with ISO 639-3 codes (older packages with ISO 639-1).
_ISO_639_3 = {
    "eng": "en", "spa": "es", "cat": "ca", "fra": "fr", "por": "pt", "ita": "it",
    "glg": "gl", "oci": "oc", "eus": "eu", "ron": "ro", "deu": "de", "nld": "nl",
    "swe": "sv", "dan": "da", "nob": "nb", "nno": "nn", "arg": "an", "epo": "eo",
    "bel": "be", "rus": "ru", "ukr": "uk", "pol": "pl", "ces": "cs", "slk": "sk",
    "isl": "is", "mlt": "mt", "cym": "cy", "bre": "br", "gle": "ga", "afr": "af",
    "kaz": "kk", "tat": "tt", "hin": "hi", "urd": "ur", "ind": "id", "msa": "ms",
}  # fmt: skip


class ApertiumTranslator:
    """Rule-based translation with the `apertium` command and its installed pairs."""

    name = "apertium"

    def __init__(self, command: str = "apertium") -> None:
        self.command = command

    @cached_property
    def _modes(self) -> dict[Pair, str]:
        if shutil.which(self.command) is None:
            return {}
        try:
            listing = subprocess.run(
                [self.command, "-l"], capture_output=True, text=True, timeout=30, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("apertium -l failed: %s", exc)
            return {}
        modes: dict[Pair, str] = {}
        for mode in listing.split():
            source, _, target = mode.partition("-")
            source, target = _ISO_639_3.get(source, source), _ISO_639_3.get(target, target)
            if len(source) == 2 and len(target) == 2:  # skips variants such as spa-eng_US
                modes.setdefault((source, target), mode)
        return modes

    def pairs(self) -> set[Pair]:
        return set(self._modes)

    def translate(
        self, sentences: list[Sentence], pair: Pair, audio: np.ndarray | None = None
    ) -> list[str]:
        texts = [" ".join(s.text.split()) for s in sentences]
        wanted = [t for t in texts if t]
        if not wanted:
            return texts
        # One sentence per paragraph: Apertium runs lines without a full stop together
        # (even with `-f line`), but never paragraphs. `-u` leaves unknown words unmarked.
        text = "\n\n".join(wanted)
        try:
            result = subprocess.run(
                [self.command, "-u", self._modes[pair]],
                input=text + "\n",
                capture_output=True,
                text=True,
                timeout=60 + len(text) / 100,
                check=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise EngineError(
                "translation_failed", f"Apertium could not translate {pair[0]}->{pair[1]}."
            ) from exc
        lines = iter(result.stdout.removesuffix("\n").split("\n\n"))
        out = [next(lines, None) if t else "" for t in texts]
        if None in out or next(lines, None) is not None:
            raise EngineError(
                "translation_failed", "Apertium returned a different number of sentences."
            )
        return [line.strip() for line in out]


class SpeechTranslator:
    """Whisper's translate task: any language it knows -> English, from the audio."""

    name = "whisper"

    def __init__(self, languages: Iterable[str], translate_speech: Callable) -> None:
        self.languages = [code for code in languages if code != "en"]
        self.translate_speech = translate_speech  # (samples, source language) -> text

    def pairs(self) -> set[Pair]:
        return {(code, "en") for code in self.languages}

    def translate(
        self, sentences: list[Sentence], pair: Pair, audio: np.ndarray | None
    ) -> list[str]:
        if audio is None:
            raise EngineError("translation_failed", "Speech translation needs the audio.")
        margin = SAMPLE_RATE // 5  # 200 ms either side, so word edges are not cut
        out = []
        for sentence in sentences:
            if sentence.start_ms is None or sentence.end_ms is None:
                out.append("")  # no audio to translate
                continue
            start = max(sentence.start_ms * SAMPLE_RATE // 1000 - margin, 0)
            end = sentence.end_ms * SAMPLE_RATE // 1000 + margin
            out.append(self.translate_speech(audio[start:end], pair[0]).strip())
        return out


class Translators:
    """The installed engines, and the one serving each language pair."""

    def __init__(self, engines: list[Translator]) -> None:
        self.engines = engines

    @cached_property
    def by_pair(self) -> dict[Pair, Translator]:
        chosen: dict[Pair, Translator] = {}
        for engine in self.engines:
            for pair in engine.pairs():
                chosen.setdefault(pair, engine)
        return chosen

    def pairs(self) -> set[Pair]:
        return set(self.by_pair)

    def translate(
        self,
        tokens: list[Token],
        request: TranslationRequest,
        audio: Callable[[int | None], np.ndarray | None] = lambda channel: None,
        on_progress: ProgressCallback | None = None,
    ) -> list[Token]:
        """Tag original tokens and follow each sentence that needs translating with its
        translation. `audio(channel)` gives the samples the tokens' timings refer to."""
        groups = sentences(tokens, same=lambda t: (t.language, t.speaker, t.channel))
        jobs: dict[tuple[Pair, int | None], list[int]] = {}
        for index, group in enumerate(groups):
            target = request.target_for(_language(group))
            pair = (_language(group), target)
            if target is None or not any(_WORD.search(t.text) for t in group):
                continue  # nothing to translate: already in the target, or only punctuation
            if pair not in self.by_pair:
                # /v1/models promises the pairs the model hears; speech in another language
                # (found by language identification) is transcribed, not translated.
                log.info("no translation engine for %s -> %s; sentence left as it is", *pair)
                continue
            jobs.setdefault((pair, group[0].channel), []).append(index)
        translated: dict[int, str] = {}
        for done, ((pair, channel), indexes) in enumerate(jobs.items()):
            engine = self.by_pair[pair]
            items = [_sentence(groups[i]) for i in indexes]
            outputs = engine.translate(items, pair, audio(channel))
            terms = _Terms(request.terms, engine, pair)
            for index, item, output in zip(indexes, items, outputs, strict=True):
                translated[index] = terms.apply(item.text, output)
            if on_progress:
                on_progress((done + 1) / len(jobs))
        if on_progress:
            on_progress(1.0)
        out: list[Token] = []
        for index, group in enumerate(groups):
            language = _language(group)
            status = "original" if index in translated else "none"
            out.extend(replace(t, language=language, translation_status=status) for t in group)
            out.extend(
                Token(
                    text=" " + word,
                    speaker=group[0].speaker,
                    language=request.target_for(language),
                    channel=group[0].channel,
                    translation_status="translation",
                    source_language=language,
                )
                for word in translated.get(index, "").split()
            )
        return out


_WORD = re.compile(r"\w")


def _language(group: list[Token]) -> str:
    # Tokens always carry the language they were recognized in; English-only models say "en".
    return group[0].language or "en"


def _sentence(tokens: list[Token]) -> Sentence:
    return Sentence(
        text="".join(t.text for t in tokens).strip(),
        start_ms=tokens[0].start_ms,
        end_ms=tokens[-1].end_ms,
    )


class _Terms:
    """`translation_terms`: where the source sentence contains a term's source text, its
    translation uses the term's target text. The engine's own rendering of the source term
    is found in the translation and replaced; a source term left untranslated (a name) is
    replaced as it is."""

    def __init__(self, terms: tuple[tuple[str, str], ...], engine: Translator, pair: Pair) -> None:
        self.terms = [(_phrase(s), s, t) for s, t in terms if s.strip()]
        self.engine = engine
        self.pair = pair

    @cached_property
    def _renderings(self) -> list[re.Pattern | None]:
        """How the engine renders each source term on its own: one call for all terms."""
        if isinstance(self.engine, SpeechTranslator):  # needs audio, not a bare term
            return [None] * len(self.terms)
        texts = self.engine.translate([Sentence(s) for _, s, _ in self.terms], self.pair, None)
        return [_phrase(t.strip().rstrip(".")) if t.strip() else None for t in texts]

    def apply(self, source_text: str, translation: str) -> str:
        for (source, _, target), index in self._present(source_text):
            for found in (self._renderings[index], source):
                if found is not None and found.search(translation):
                    translation = found.sub(lambda _, t=target: t, translation)
                    break
        return translation

    def _present(self, source_text: str):
        """The terms whose source text occurs in `source_text`, with their index."""
        return [(term, i) for i, term in enumerate(self.terms) if term[0].search(source_text)]


def _phrase(text: str) -> re.Pattern:
    """`text` as a whole word or phrase, in any case."""
    return re.compile(rf"(?<!\w){re.escape(text)}(?!\w)", re.IGNORECASE)


def installed_translators(
    models_dir: str | None,
    apertium: bool,
    speech: SpeechTranslator | None = None,
) -> Translators:
    engines: list[Translator] = []
    if models_dir:
        engines += CTranslate2Translator.find(Path(models_dir))
    if apertium:
        engines.append(ApertiumTranslator())
    if speech is not None:
        engines.append(speech)
    return Translators(engines)
