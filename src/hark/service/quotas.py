"""Per-project limits, and the errors that name the limit and the current usage."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from hark.settings import Settings
from hark.store import FileQuota, Store, TranscriptionQuota, Usage

from .errors import InvalidRequest, PayloadTooLarge, ServiceError, TooManyRequests


@dataclass(frozen=True)
class Limits:
    """One project's limits. Names match the HARK_* settings that give their defaults."""

    max_file_size: int
    max_storage_bytes: int
    max_files: int
    max_transcriptions: int
    max_pending_transcriptions: int
    max_audio_duration_seconds: float
    max_jobs_in_flight_per_project: int

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(**{name: getattr(settings, name) for name in cls.names()})

    def overridden(self, overrides: dict | None) -> Limits:
        known = {k: v for k, v in (overrides or {}).items() if k in self.names()}
        return replace(self, **known) if known else self

    @property
    def files(self) -> FileQuota:
        return FileQuota(self.max_files, self.max_storage_bytes)

    @property
    def transcriptions(self) -> TranscriptionQuota:
        return TranscriptionQuota(self.max_transcriptions, self.max_pending_transcriptions)

    def file_error(self, usage: Usage, size: int | None = None) -> ServiceError:
        """Why one more file (of `size` bytes, when known) does not fit."""
        if usage.files >= self.max_files:
            return InvalidRequest(
                f"File limit reached: this project stores {usage.files} files "
                f"(maximum {self.max_files}). Delete files to upload more.",
                error_type="file_limit_exceeded",
            )
        left = max(self.max_storage_bytes - usage.file_bytes, 0)
        needs = f"this {size}-byte file" if size is not None else "this upload"
        return PayloadTooLarge(
            f"Storage limit exceeded: this project stores {usage.file_bytes} bytes of its "
            f"{self.max_storage_bytes}-byte limit, and {needs} does not fit in the {left} "
            "bytes left. Delete files to free space.",
            error_type="storage_limit_exceeded",
        )

    def transcription_error(self, usage: Usage) -> ServiceError:
        if usage.transcriptions >= self.max_transcriptions:
            return InvalidRequest(
                f"Transcription limit reached: this project has {usage.transcriptions} "
                f"transcriptions (maximum {self.max_transcriptions}). Delete transcriptions "
                "to create more.",
                error_type="transcription_limit_exceeded",
            )
        return TooManyRequests(
            f"Too many pending transcriptions: this project has {usage.pending} queued or "
            f"processing (maximum {self.max_pending_transcriptions}). Retry when some have "
            "finished.",
            error_type="too_many_pending_transcriptions",
        )


class Quotas:
    """The limits in force for each project: server defaults, then its own overrides."""

    def __init__(self, store: Store, defaults: Limits) -> None:
        self.store = store
        self.defaults = defaults

    def for_project(self, project_id: str) -> Limits:
        return self.defaults.overridden(self.store.project_limits(project_id))
