"""The model catalog /v1/models serves, and resolution of the names clients send."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from hark.engine import model_languages, primary_language

from .errors import FieldError, InvalidRequest
from .requests import TranslationConfig

Pair = tuple[str, str]

# Names the Soniox SDKs send by default; all run Hark's configured model.
SONIOX_ALIASES = ("stt-async-v5", "stt-async-v4", "stt-async-v3", "stt-async-preview")
# Model names of the realtime WebSocket: the same weights, recognised live.
REALTIME_ALIASES = ("stt-rt-v5", "stt-rt-v4", "stt-rt-v3", "stt-rt-preview")


class ModelCatalog:
    def __init__(
        self,
        model_id: str,
        engine_model: str,
        translation_pairs: Callable[[], set[Pair]] = set,
    ) -> None:
        self.model_id = model_id
        self.languages = model_languages(engine_model)
        self._installed_pairs = translation_pairs  # (source, target) the engines translate

    @cached_property
    def one_way(self) -> dict[str, list[str]]:
        """Target -> sources: only sources the model can hear are of any use."""
        targets: dict[str, list[str]] = {}
        for source, target in sorted(self._installed_pairs()):
            if source in self.languages:
                targets.setdefault(target, []).append(source)
        return targets

    @cached_property
    def two_way(self) -> list[str]:
        """`a:b` pairs translated both ways, of which the model hears at least one language
        (speech in the other is then transcribed only by a model that knows it)."""
        pairs = self._installed_pairs()
        return sorted(
            f"{a}:{b}"
            for a, b in pairs
            if a < b and (b, a) in pairs and (a in self.languages or b in self.languages)
        )

    def check_translation(self, translation: TranslationConfig | None) -> None:
        if translation is None:
            return
        if translation.type == "one_way":
            target = primary_language(translation.target_language or "")
            if target in self.one_way:
                return
            offered = ", ".join(f"{t} (from {', '.join(s)})" for t, s in self.one_way.items())
            asked, where = f"one_way translation into {target!r}", "target_language"
        else:
            a, b = (
                primary_language(x or "") for x in (translation.language_a, translation.language_b)
            )
            if f"{min(a, b)}:{max(a, b)}" in self.two_way:
                return
            offered = ", ".join(self.two_way)
            asked, where = f"two_way translation between {a!r} and {b!r}", "language_a"
        available = f"available: {offered}" if offered else "no translation pairs are installed"
        raise InvalidRequest(
            f"Model {self.model_id} offers no {asked} on this server ({available}).",
            error_type="translation_unavailable",
            validation_errors=[
                FieldError(f"body.translation.{where}", f"unavailable ({available})")
            ],
        )

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
            "translation_targets": [
                {"target_language": t, "source_languages": s, "exclude_source_languages": []}
                for t, s in self.one_way.items()
            ],
            "two_way_translation_pairs": self.two_way,
            "one_way_translation": None,
            "two_way_translation": None,
        }
        models = [{"id": self.model_id, "aliased_model_id": None, **base}]
        models += [{"id": a, "aliased_model_id": self.model_id, **base} for a in SONIOX_ALIASES]
        live = {**base, "transcription_mode": "real_time", "supports_max_endpoint_delay": True}
        models += [{"id": a, "aliased_model_id": self.model_id, **live} for a in REALTIME_ALIASES]
        return models
