"""Prometheus metrics.

Counters and histograms belong to the process that did the work (each `hark worker` serves
its own on `HARK_METRICS_PORT`; Prometheus sums over the processes it scrapes). Job counts
by state and the queue depth are read from the database when /metrics is scraped, so every
API replica reports the same global figures (aggregate those with max, not sum).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from hark.store import Store, utcnow

log = logging.getLogger(__name__)

PROCESSING_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
JOB_OUTCOMES = ("completed", "error")
WEBHOOK_OUTCOMES = ("delivered", "retrying", "failed")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._jobs = Counter(
            "hark_jobs_finished",
            "Transcription jobs this process finished, by outcome",
            ["status"],
            registry=self.registry,
        )
        self._processing = Histogram(
            "hark_job_processing_seconds",
            "Seconds from claiming a job to finishing it, in this process",
            buckets=PROCESSING_BUCKETS,
            registry=self.registry,
        )
        self._audio = Counter(
            "hark_audio_processed_seconds",
            "Seconds of audio transcribed (completed jobs) by this process",
            registry=self.registry,
        )
        self._webhooks = Counter(
            "hark_webhook_deliveries",
            "Webhook delivery attempts made by this process, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        for status in JOB_OUTCOMES:
            self._jobs.labels(status)
        for outcome in WEBHOOK_OUTCOMES:
            self._webhooks.labels(outcome)

    def job_finished(self, status: str, seconds: float, audio_seconds: float | None) -> None:
        self._jobs.labels(status).inc()
        self._processing.observe(seconds)
        if status == "completed" and audio_seconds:
            self._audio.inc(audio_seconds)

    def webhook_attempted(self, outcome: str) -> None:
        self._webhooks.labels(outcome).inc()

    def watch_database(self, store: Store) -> None:
        """Also report job counts and queue depth, read from the database at scrape time."""
        self.registry.register(_DatabaseCollector(store))


class _DatabaseCollector:
    def __init__(self, store: Store) -> None:
        self.store = store

    def describe(self) -> list[Metric]:
        return []  # nothing to query when registering

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("hark_database_up", "Whether the database answered this scrape")
        try:
            counts = self.store.job_counts()
            oldest = self.store.oldest_queued_at()
        except Exception as exc:  # the scrape still reports what this process knows
            log.warning("metrics: the database did not answer: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        jobs = GaugeMetricFamily(
            "hark_jobs", "Transcription jobs by state (all projects)", labels=["state"]
        )
        for state, count in counts.items():
            jobs.add_metric([state], count)
        yield jobs
        yield GaugeMetricFamily(
            "hark_queue_depth", "Jobs waiting for a worker", value=counts.get("queued", 0)
        )
        age = (utcnow() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "hark_queue_oldest_age_seconds", "How long the oldest queued job has waited", value=age
        )
