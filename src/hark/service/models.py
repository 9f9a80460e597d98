"""The model catalog /v1/models serves, and resolution of the names clients send."""

from __future__ import annotations

from hark.jobs import model_languages, primary_language

from .errors import FieldError, InvalidRequest

# Names the Soniox SDKs send by default; all run Hark's configured model.
SONIOX_ALIASES = ("stt-async-v5", "stt-async-v4", "stt-async-v3", "stt-async-preview")


class ModelCatalog:
    def __init__(self, model_id: str, engine_model: str) -> None:
        self.model_id = model_id
        self.languages = model_languages(engine_model)

    @property
    def names(self) -> list[str]:
        return [self.model_id, *SONIOX_ALIASES]

    def resolve(self, name: str) -> str:
        if name in self.names:
            return self.model_id
        raise InvalidRequest(
            f"Unknown model {name!r}. Valid models: {', '.join(self.names)}.",
            validation_errors=[
                FieldError("body.model", f"must be one of: {', '.join(self.names)}")
            ],
        )

    def check_language_hints(self, hints: list[str]) -> None:
        for index, hint in enumerate(hints):
            if primary_language(hint) not in self.languages:
                supported = ", ".join(self.languages) if len(self.languages) <= 10 else None
                detail = f"supported: {supported}" if supported else "see /v1/models"
                raise InvalidRequest(
                    f"Model {self.model_id} does not support language {hint!r} ({detail}).",
                    validation_errors=[
                        FieldError(
                            f"body.language_hints.{index}", f"unsupported language ({detail})"
                        )
                    ],
                )

    def describe(self) -> list[dict]:
        base = {
            "name": f"Hark Whisper ({self.model_id})",
            "context_version": 2,
            "transcription_mode": "async",
            "languages": [{"code": c, "name": n} for c, n in self.languages.items()],
            "supports_language_hints_strict": True,
            "supports_max_endpoint_delay": False,
            "translation_targets": [],
            "two_way_translation_pairs": [],
            "one_way_translation": None,
            "two_way_translation": None,
        }
        models = [{"id": self.model_id, "aliased_model_id": None, **base}]
        models += [{"id": a, "aliased_model_id": self.model_id, **base} for a in SONIOX_ALIASES]
        return models
