"""The OpenAI door (CONTRACTS §5): `/v1/audio/transcriptions` and `/v1/audio/translations`
as ordinary Hark files and transcriptions of the caller's project, on the job queue.

A request is parsed into an `AudioRequest`, its audio becomes a file, its options a job
(`submit`); the API waits for the job (`job`), renders its result (see openai_formats) and
cleans up (`finish`): the rule is in `finish`'s docstring and docs/api/openai.md."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import asdict, dataclass
from functools import partial
from typing import Literal

from hark.store import Store, Transcription, TranscriptRow

from .errors import Conflict, FieldError, InvalidRequest, NotFound, ServiceError
from .files import FileService, Upload
from .idempotency import Idempotency, check_key, request_hash
from .models import ModelCatalog
from .requests import MAX_SPEAKERS, CreateTranscription
from .transcriptions import TranscriptionService

log = logging.getLogger(__name__)

# OpenAI's model ids; every one runs Hark's configured model (listed in /v1/models).
OPENAI_MODELS = (
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-transcribe-diarize",
)
DIARIZE_MODEL = "gpt-4o-transcribe-diarize"
TRANSCRIPTION_FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
TRANSLATION_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
GRANULARITIES = ("word", "segment")
MAX_KNOWN_SPEAKERS = 4  # as OpenAI
# chunking_strategy's server_vad fields -> faster-whisper's VadOptions fields.
VAD_FIELDS = {
    "threshold": "threshold",
    "silence_duration_ms": "min_silence_duration_ms",
    "prefix_padding_ms": "speech_pad_ms",
}
Task = Literal["transcribe", "translate"]


def _invalid(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, validation_errors=[FieldError(f"body.{param}", message)])


def _one(fields: Mapping[str, list[str]], name: str) -> str | None:
    values = fields.get(name) or []
    return values[-1] if values else None


def _many(fields: Mapping[str, list[str]], name: str) -> list[str]:
    """A list field, sent as `name[]` (the SDK's way) or repeated `name`."""
    return [*fields.get(f"{name}[]", []), *fields.get(name, [])]


def _flag(fields: Mapping[str, list[str]], name: str) -> bool | None:
    value = _one(fields, name)
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise _invalid(f"{name} must be true or false, not {value!r}.", name)


def _number(fields: Mapping[str, list[str]], name: str, low: float, high: float) -> float | None:
    value = _one(fields, name)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise _invalid(f"{name} must be a number, not {value!r}.", name) from None
    if not low <= number <= high:
        raise _invalid(f"{name} must be between {low:g} and {high:g}.", name)
    return number


def _count(fields: Mapping[str, list[str]], name: str) -> int | None:
    number = _number(fields, name, 1, MAX_SPEAKERS)
    if number is not None and not number.is_integer():
        raise _invalid(f"{name} must be a whole number.", name)
    return None if number is None else int(number)


def _vad(value: str | None) -> dict[str, float] | None:
    """chunking_strategy: "auto", or a server_vad object whose settings reach the VAD."""
    if value is None or value.strip() in ("", "auto"):
        return None
    try:
        strategy = json.loads(value)
    except ValueError:
        raise _invalid(
            'chunking_strategy must be "auto" or a {"type": "server_vad", ...} object.',
            "chunking_strategy",
        ) from None
    if strategy == "auto":
        return None
    if not isinstance(strategy, dict) or strategy.get("type") != "server_vad":
        raise _invalid('chunking_strategy.type must be "server_vad".', "chunking_strategy")
    vad: dict[str, float] = {}
    for name, option in VAD_FIELDS.items():
        value = strategy.get(name)
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise _invalid(f"chunking_strategy.{name} must be a number >= 0.", "chunking_strategy")
        if name == "threshold" and value > 1:
            raise _invalid("chunking_strategy.threshold must be at most 1.", "chunking_strategy")
        vad[option] = value
    return vad or None


@dataclass(frozen=True)
class AudioRequest:
    """One OpenAI audio request, checked: the form fields and Hark's `extra_body` extras."""

    task: Task
    model: str
    response_format: str = "json"
    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None
    granularities: tuple[str, ...] = ("segment",)
    stream: bool = False
    vad: tuple[tuple[str, float], ...] = ()
    known_speaker_names: tuple[str, ...] = ()
    hotwords: tuple[str, ...] = ()
    diarize: bool = False
    min_speakers: int | None = None
    max_speakers: int | None = None
    keep: bool = False

    @classmethod
    def parse(cls, task: Task, fields: Mapping[str, list[str]]) -> AudioRequest:
        model = (_one(fields, "model") or "").strip()
        if not model:
            raise _invalid("model is required (e.g. whisper-1).", "model")
        formats = TRANSCRIPTION_FORMATS if task == "transcribe" else TRANSLATION_FORMATS
        response_format = _one(fields, "response_format") or "json"
        if response_format not in formats:
            raise _invalid(
                f"Unknown response_format {response_format!r}; use one of: {', '.join(formats)}.",
                "response_format",
            )
        granularities = tuple(dict.fromkeys(_many(fields, "timestamp_granularities")))
        for granularity in granularities:
            if granularity not in GRANULARITIES:
                raise _invalid(
                    f"Unknown timestamp granularity {granularity!r}; use word and/or segment.",
                    "timestamp_granularities",
                )
        if granularities and response_format != "verbose_json":
            raise _invalid(
                "timestamp_granularities is only supported with response_format verbose_json.",
                "timestamp_granularities",
            )
        names = tuple(n.strip() for n in _many(fields, "known_speaker_names") if n.strip())
        if len(names) > MAX_KNOWN_SPEAKERS:
            raise _invalid(
                f"At most {MAX_KNOWN_SPEAKERS} known_speaker_names.", "known_speaker_names"
            )
        if _many(fields, "known_speaker_references"):
            raise _invalid(
                "known_speaker_references is not supported: Hark names the speakers it finds "
                "by known_speaker_names, in order of appearance.",
                "known_speaker_references",
            )
        diarize = _flag(fields, "enable_speaker_diarization")
        if diarize is None:
            diarize = response_format == "diarized_json" or model == DIARIZE_MODEL or bool(names)
        min_speakers, max_speakers = _count(fields, "min_speakers"), _count(fields, "max_speakers")
        if (min_speakers or max_speakers) and not diarize:
            raise _invalid("min_speakers and max_speakers need diarization.", "min_speakers")
        if min_speakers and max_speakers and min_speakers > max_speakers:
            raise _invalid("min_speakers is greater than max_speakers.", "min_speakers")
        language = (_one(fields, "language") or "").strip().lower() or None
        vad = _vad(_one(fields, "chunking_strategy"))
        return cls(
            task=task,
            model=model,
            response_format=response_format,
            language=language,
            prompt=(_one(fields, "prompt") or "").strip() or None,
            temperature=_number(fields, "temperature", 0, 1) or None,  # 0: fall back as needed
            granularities=granularities or ("segment",),
            stream=bool(_flag(fields, "stream")),
            vad=tuple(sorted(vad.items())) if vad else (),
            known_speaker_names=names,
            # Hark's `hotwords` (extra_body), and the SDK's `keywords`: context terms.
            hotwords=tuple(
                dict.fromkeys(
                    h.strip()
                    for h in [*_many(fields, "hotwords"), *_many(fields, "keywords")]
                    if h.strip()
                )
            ),
            diarize=diarize,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
            keep=bool(_flag(fields, "keep")),
        )

    def digest(self) -> str:
        """What makes two requests "the same" for Idempotency-Key (the audio aside)."""
        return request_hash(f"POST /audio/{self.task}", json.dumps(asdict(self), sort_keys=True))


@dataclass(frozen=True)
class Submitted:
    job: Transcription
    idempotency_key: str | None
    replayed: bool = False  # a retry with an Idempotency-Key picked up an earlier job


class OpenAIService:
    def __init__(
        self,
        store: Store,
        files: FileService,
        transcriptions: TranscriptionService,
        catalog: ModelCatalog,
    ) -> None:
        self.store = store
        self.files = files
        self.transcriptions = transcriptions
        self.catalog = catalog
        self.idempotency = Idempotency(store)
        self.created = int(time.time())  # the models' `created`: when this server started

    # -- models ------------------------------------------------------------------------

    def model_ids(self) -> list[str]:
        """Every id the door accepts: Hark's own and OpenAI's, all the configured model."""
        return [*self.catalog.names, *OPENAI_MODELS]

    def check_model(self, model: str) -> None:
        if model not in self.model_ids():
            raise NotFound(
                f"The model {model!r} does not exist; available: {', '.join(self.model_ids())}.",
                error_type="model_not_found",
                validation_errors=[FieldError("body.model", "unknown model")],
            )

    # -- one request ---------------------------------------------------------------------

    def check(self, request: AudioRequest) -> None:
        """What can be refused before the audio is stored."""
        self.check_model(request.model)
        languages = self.catalog.languages
        if request.task == "translate":
            self._check_translation(request)
        elif request.language is not None and request.language not in languages:
            supported = ", ".join(languages) if len(languages) <= 10 else "see /v1/models"
            raise _invalid(
                f"Model {self.catalog.model_id} does not transcribe language "
                f"{request.language!r} (supported: {supported}).",
                "language",
            )
        if request.prompt and request.model == DIARIZE_MODEL:
            raise _invalid("prompt is not supported with gpt-4o-transcribe-diarize.", "prompt")

    def _check_translation(self, request: AudioRequest) -> None:
        """Speech into English: Whisper's translate task (any language the model hears into
        English, as /v1/models lists); with an English-only model, English passes through."""
        sources = self.catalog.one_way.get("en", [])
        if request.language in (None, "en", *sources):
            return
        available = (
            f"English passes through, and {', '.join(sources)} translate into English"
            if sources
            else "the model hears only English, so English audio passes through; a "
            "multilingual model (HARK_MODEL) translates other languages"
        )
        raise _invalid(
            f"Model {self.catalog.model_id} cannot translate {request.language!r} speech "
            f"into English on this server ({available}).",
            "language",
        )

    def _create_request(self, request: AudioRequest, file_id: str) -> CreateTranscription:
        translate = request.task == "translate" and request.language != "en" and self._multilingual
        context: dict | None = None
        if request.prompt or request.hotwords:
            context = {"text": request.prompt, "terms": list(request.hotwords) or None}
        return CreateTranscription.model_validate(
            {
                "model": self.catalog.model_id,
                "file_id": file_id,
                "language_hints": [request.language] if request.language else None,
                "language_hints_strict": True if request.language else None,
                "enable_speaker_diarization": request.diarize,
                "min_speakers": request.min_speakers,
                "max_speakers": request.max_speakers,
                "translation": {"type": "one_way", "target_language": "en"} if translate else None,
                "context": context,
                "client_reference_id": f"openai:{request.task}",
            }
        )

    @property
    def _multilingual(self) -> bool:
        return len(self.catalog.languages) > 1

    def submit(
        self,
        project_id: str,
        upload: Upload,
        filename: str | None,
        request: AudioRequest,
        idempotency_key: str | None,
    ) -> Submitted:
        """Store the audio as a file and queue its transcription. With an Idempotency-Key
        that an earlier request (the same one) used, that request's job instead."""
        key = check_key(idempotency_key)
        fetch = partial(self.store.get_transcription, project_id)
        digest = request.digest()
        try:
            if key is not None and (
                earlier := self.idempotency.replay(project_id, key, digest, fetch)
            ):
                upload.abort()
                return Submitted(earlier, key, replayed=True)
            file = self.files.finish_upload(upload, filename, None)
        except BaseException:
            upload.abort()
            raise
        decoder = {"temperature": request.temperature, "vad": dict(request.vad) or None}
        try:
            job = self.transcriptions.create(
                project_id,
                self._create_request(request, file.id),
                key,
                # Always a dict (maybe empty): door jobs decode with the decoder's segments.
                decoder_options={k: v for k, v in decoder.items() if v is not None},
                request_digest=digest,
            )
        except BaseException:
            self.files.delete(project_id, file.id)
            raise
        if job.file_id != file.id:  # a concurrent retry with the key got there first
            self.files.delete(project_id, file.id)
            return Submitted(job, key, replayed=True)
        return Submitted(job, key)

    def job(self, project_id: str, transcription_id: str) -> Transcription:
        return self.transcriptions.get(project_id, transcription_id)

    def transcript(self, job: Transcription) -> TranscriptRow:
        return self.transcriptions.transcript(job.project_id, job.id)

    def cancel(self, job: Transcription) -> None:
        with suppress(Conflict, NotFound):  # it ended (or went) on its own meanwhile
            self.transcriptions.cancel(job.project_id, job.id)

    def finish(self, submitted: Submitted, request: AudioRequest, answered: bool) -> None:
        """The cleanup rule. Once the answer has gone out: the file and the job are deleted
        (with an Idempotency-Key the job stays, so a retry gets the same answer, until
        retention removes it; its audio goes). A client that went away before its answer:
        without a key, the job is cancelled and both deleted; with a key, the job runs on
        for a retry to pick up. `keep` (extra_body) keeps both, always (cancelling still)."""
        job = submitted.job
        if not answered:
            if submitted.idempotency_key is not None:
                return
            self.cancel(job)
        if request.keep:
            return
        try:
            if answered and submitted.idempotency_key is not None:
                self._delete_file(job)
                return
            self._discard(job.project_id, job)
        except ServiceError as exc:  # cleanup of a job someone else already removed
            log.info("openai door: cleanup of transcription %s: %s", job.id, exc.message)

    def _discard(self, project_id: str, job: Transcription) -> None:
        self.cancel(job)
        self.transcriptions.delete(project_id, job.id)
        self._delete_file(job)

    def _delete_file(self, job: Transcription) -> None:
        if job.file_id:
            with suppress(NotFound):
                self.files.delete(job.project_id, job.file_id)
