"""hark.client behaviour that a healthy Hark server never shows: 403/429/5xx answers, odd
error bodies, dropped connections, retries. These use a tiny in-process httpx.MockTransport in
place of the server (the one place the client tests do not talk to a real `hark serve`);
everything else about the client is tested against a real server in test_client.py."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from hark.client import (
    HarkAPIError,
    HarkAuthenticationError,
    HarkConflictError,
    HarkConnectionError,
    HarkInvalidRequestError,
    HarkNotFoundError,
    HarkPermissionDeniedError,
    HarkRateLimitError,
    HarkServerError,
    HarkValidationError,
)
from hark.client._plans import PollSchedule
from support.sdk_harness import open_client

BASE = "http://hark.test/v1"
NOW = "2026-11-21T10:00:00Z"
FILE = {"id": "f1", "filename": "a.wav", "size": 3, "created_at": NOW}


def job(status: str = "completed", progress: float | None = 1.0, **extra) -> dict:
    return {
        "id": "t1",
        "status": status,
        "created_at": NOW,
        "model": "stt-async-v5",
        "filename": "a.wav",
        "enable_speaker_diarization": False,
        "enable_language_identification": False,
        "progress": progress,
        **extra,
    }


def envelope(status: int, error_type: str, message: str = "nope", **extra) -> dict:
    return {
        "status_code": status,
        "error_type": error_type,
        "message": message,
        "validation_errors": [],
        "request_id": "req-1",
        **extra,
    }


class Recorder:
    """A MockTransport handler that answers from a script and records what it was sent."""

    def __init__(self, *answers: httpx.Response | Exception | Callable) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.read())
        self.times.append(time.monotonic())
        answer = self.answers[0] if len(self.answers) == 1 else self.answers.pop(0)
        if callable(answer) and not isinstance(answer, httpx.Response):
            answer = answer(request)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture(params=["sync", "async"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def make(kind):
    closers = []

    def make_client(recorder: Recorder, **kwargs):
        options = {"retry_backoff_sec": 0.001, "transport": httpx.MockTransport(recorder)}
        client, close = open_client(kind, api_key="k", api_base_url=BASE, **options | kwargs)
        closers.append(close)
        return client

    yield make_client
    for close in closers:
        close()


ERROR_CASES = [
    (400, envelope(400, "invalid_request"), HarkInvalidRequestError, "nope"),
    (401, envelope(401, "invalid_api_key"), HarkAuthenticationError, "nope"),
    (403, envelope(403, "forbidden"), HarkAuthenticationError, "nope"),
    (403, envelope(403, "permission_denied"), HarkPermissionDeniedError, "nope"),
    (404, envelope(404, "file_not_found"), HarkNotFoundError, "nope"),
    (409, envelope(409, "transcription_invalid_state"), HarkConflictError, "nope"),
    (429, envelope(429, "rate_limited"), HarkRateLimitError, "nope"),
    (500, envelope(500, "internal_error"), HarkServerError, "nope"),
    (418, envelope(418, "teapot"), HarkAPIError, "nope"),
    (502, "upstream exploded", HarkServerError, "upstream exploded"),
    (504, "<!DOCTYPE html><html>gateway</html>", HarkServerError, "Gateway Timeout"),
    (404, {"detail": "Not Found"}, HarkNotFoundError, "Not Found"),
    (400, {"error_code": 400, "error_type": "bad", "error_message": "ws style"}, None, "ws style"),
]


@pytest.mark.parametrize(("status", "body", "error_class", "message"), ERROR_CASES)
def test_error_mapping(make, status, body, error_class, message):
    content = json.dumps(body) if isinstance(body, dict) else body
    response = httpx.Response(status, content=content, headers={"X-Request-Id": "hdr-id"})
    client = make(Recorder(response), max_retries=0)
    with pytest.raises(HarkAPIError) as info:
        client.files.get("f1")
    error = info.value
    assert type(error) is (error_class or HarkInvalidRequestError)
    assert error.status_code == status and error.message == message
    assert error.request_id == (body.get("request_id") if isinstance(body, dict) else None) or (
        error.request_id == "hdr-id"
    )
    if isinstance(body, dict) and "status_code" in body:
        assert error.error_type == body["error_type"]
    assert f"HTTP {status}" in str(error)


def test_validation_errors_are_parsed(make):
    body = envelope(400, "invalid_request", "Invalid request: body.model: Field required")
    body["validation_errors"] = [
        {"error_type": "missing", "location": "body.model", "message": "Field required"}
    ]
    client = make(Recorder(httpx.Response(400, json=body)))
    with pytest.raises(HarkInvalidRequestError) as info:
        client.stt.create(file_id="f1")
    detail = info.value.validation_errors[0]
    assert (detail.error_type, detail.location, detail.message) == (
        "missing",
        "body.model",
        "Field required",
    )
    assert "body.model: Field required" in str(info.value)


def test_not_found_is_the_only_error_swallowed(make):
    client = make(Recorder(httpx.Response(404, text="no such thing")))
    assert client.files.get_or_none("f1") is None
    assert client.stt.delete_if_exists("t1") is None
    client = make(Recorder(httpx.Response(500, json=envelope(500, "internal_error"))))
    with pytest.raises(HarkServerError):
        client.files.get_or_none("f1")
    with pytest.raises(HarkServerError):
        client.stt.delete_if_exists("t1")


def test_idempotent_requests_are_retried_on_429_and_503(make):
    recorder = Recorder(
        httpx.Response(503, json=envelope(503, "unavailable")),
        httpx.Response(429, json=envelope(429, "rate_limited")),
        httpx.Response(200, json=FILE),
    )
    assert make(recorder).files.get("f1").id == "f1"
    assert len(recorder.requests) == 3

    always = Recorder(httpx.Response(429, json=envelope(429, "rate_limited")))
    with pytest.raises(HarkRateLimitError):
        make(always, max_retries=2).files.delete("f1")
    assert len(always.requests) == 3 and {r.method for r in always.requests} == {"DELETE"}

    not_retried = Recorder(httpx.Response(500, json=envelope(500, "internal_error")))
    with pytest.raises(HarkServerError):
        make(not_retried).stt.get("t1")
    assert len(not_retried.requests) == 1


def test_retry_after_is_honoured(make):
    recorder = Recorder(
        httpx.Response(429, json=envelope(429, "slow_down"), headers={"Retry-After": "0.3"}),
        httpx.Response(200, json=job()),
    )
    assert make(recorder).stt.get("t1").status == "completed"
    assert recorder.times[1] - recorder.times[0] >= 0.3


def test_creates_are_retried_with_one_idempotency_key(make):
    recorder = Recorder(
        httpx.Response(503, json=envelope(503, "unavailable")),
        httpx.ConnectError("refused"),
        httpx.Response(201, json=job("queued", 0.0)),
    )
    client = make(recorder)
    assert client.stt.create(file_id="f1").status == "queued"
    keys = [r.headers["Idempotency-Key"] for r in recorder.requests]
    assert len(keys) == 3 and len(set(keys)) == 1 and uuid.UUID(keys[0]).version == 4
    assert {json.loads(body)["file_id"] for body in recorder.bodies} == {"f1"}

    client.stt.create(file_id="f1")
    client.stt.create(file_id="f1", idempotency_key="mine")
    assert recorder.requests[-2].headers["Idempotency-Key"] not in keys
    assert recorder.requests[-1].headers["Idempotency-Key"] == "mine"


def test_retried_uploads_are_rewound(make, tmp_path):
    data = bytes(range(256)) * 1200  # 300 kB, several multipart chunks
    path = tmp_path / "audio.wav"
    path.write_bytes(data)
    recorder = Recorder(
        httpx.Response(503, json=envelope(503, "unavailable")),
        httpx.Response(429, json=envelope(429, "rate_limited")),
        httpx.Response(201, json=FILE),
    )
    with path.open("rb") as stream:
        make(recorder).files.upload(stream, client_reference_id="ref")
    # Every attempt sent the whole file (the multipart boundary differs per attempt).
    assert len(recorder.bodies) == 3 and all(data in body for body in recorder.bodies)
    assert len({len(body) for body in recorder.bodies}) == 1
    body = recorder.bodies[2]
    assert b'filename="audio.wav"' in body
    assert body.index(b'name="client_reference_id"') < body.index(b'name="file"')
    assert len({r.headers["Idempotency-Key"] for r in recorder.requests}) == 1

    class Pipe(io.RawIOBase):  # a stream that cannot be rewound is sent once
        def __init__(self) -> None:
            self.source = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self.source.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    once = Recorder(httpx.Response(503, json=envelope(503, "unavailable")))
    with pytest.raises(HarkServerError):
        make(once).files.upload(Pipe(), filename="pipe.wav")
    assert len(once.requests) == 1 and data in once.bodies[0]


def test_connection_errors(make):
    # Nothing reached the server: any request may be sent again, even a non-idempotent POST.
    recorder = Recorder(
        httpx.ConnectError("refused"),
        httpx.Response(201, json={"api_key": "tmp", "expires_at": NOW}),
    )
    assert make(recorder).auth.create_temporary_api_key().api_key == "tmp"
    assert len(recorder.requests) == 2

    # The request may have been processed: only idempotent requests are retried.
    broken = Recorder(httpx.ReadError("reset"))
    with pytest.raises(HarkConnectionError) as info:
        make(broken).auth.create_temporary_api_key()
    assert len(broken.requests) == 1 and isinstance(info.value.__cause__, httpx.ReadError)
    unavailable = Recorder(httpx.Response(503, json=envelope(503, "unavailable")))
    with pytest.raises(HarkServerError):
        make(unavailable).auth.create_temporary_api_key()
    assert len(unavailable.requests) == 1

    flaky = Recorder(httpx.ReadError("reset"), httpx.Response(200, json=FILE))
    assert make(flaky).files.get("f1").id == "f1"

    down = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(HarkConnectionError, match="3 attempt"):
        make(down, max_retries=2).files.list()
    assert len(down.requests) == 3


def test_requests_on_the_wire(make):
    recorder = Recorder(
        httpx.Response(200, json={"files": [], "next_page_cursor": None}),
        httpx.Response(200, json={"files": [], "next_page_cursor": None}),
        httpx.Response(201, json=job("queued", 0.0)),
    )
    client = make(recorder, client_kwargs={"headers": {"X-Extra": "yes"}})
    client.files.list()
    client.files.list(limit=5, cursor="abc")
    client.stt.create(
        audio_url="https://example.com/a.mp3",
        client_reference_id="ref",
        config={
            "language_hints": ["en"],
            "translation": {"type": "one_way", "target_language": "es", "language_a": "fr"},
            "context": {"general": {"domain": "medicine"}, "translation_terms": {"a": "b"}},
        },
    )
    first, second, create = recorder.requests
    assert str(first.url) == f"{BASE}/files?limit=100"
    assert str(second.url) == f"{BASE}/files?limit=5&cursor=abc"
    assert first.headers["Authorization"] == "Bearer k" and first.headers["X-Extra"] == "yes"
    assert json.loads(recorder.bodies[2]) == {
        "model": "stt-async-v5",
        "audio_url": "https://example.com/a.mp3",
        "client_reference_id": "ref",
        "language_hints": ["en"],
        "translation": {"type": "one_way", "target_language": "es"},
        "context": {
            "general": [{"key": "domain", "value": "medicine"}],
            "translation_terms": [{"source": "a", "target": "b"}],
        },
    }
    assert create.url.path == "/v1/transcriptions"


def test_a_bad_config_is_refused_before_uploading(make):
    recorder = Recorder(httpx.Response(201, json=FILE))
    with pytest.raises(HarkValidationError, match="language_hints"):
        make(recorder).stt.transcribe(file=b"abc", config={"language_hints": ["e"]})
    assert recorder.requests == []  # nothing uploaded, so nothing left behind


@pytest.mark.parametrize("last_cursor", [None, "", "absent"])
def test_list_all_stops_without_a_cursor(make, last_cursor):
    last = {"files": [FILE]}
    if last_cursor != "absent":
        last["next_page_cursor"] = last_cursor
    recorder = Recorder(
        httpx.Response(200, json={"files": [FILE, FILE], "next_page_cursor": "p2"}),
        httpx.Response(200, json=last),
        httpx.Response(500),
    )
    assert len(list(make(recorder).files.list_all(limit=2))) == 3
    assert [r.url.params.get("cursor") for r in recorder.requests] == [None, "p2"]


def test_wait_polls_with_backoff_and_reports_progress(make):
    states = [job("queued", 0.0)] + [job("processing", p) for p in (0.0, 0.1, 0.3, 0.6)]
    recorder = Recorder(
        *[httpx.Response(200, json=s) for s in states], httpx.Response(200, json=job())
    )
    seen = []
    done = make(recorder).stt.wait("t1", interval_sec=0.4, on_progress=seen.append)
    assert done.status == "completed" and len(recorder.requests) == 6
    assert [t.progress for t in seen] == [0.0, 0.0, 0.1, 0.3, 0.6, 1.0]
    gaps = [b - a for a, b in zip(recorder.times, recorder.times[1:], strict=False)]
    assert 0.2 <= gaps[0] < 0.35  # polls start 0.25 s apart ...
    assert all(g < 0.5 for g in gaps)  # ... and never wait longer than interval_sec


def test_wait_timeout(make):
    recorder = Recorder(httpx.Response(200, json=job("processing", 0.1)))
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="still processing"):
        make(recorder).stt.wait("t1", interval_sec=0.1, timeout_sec=0.5)
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 1.0 and len(recorder.requests) >= 4


def test_poll_schedule():
    schedule = PollSchedule(cap=5.0)
    delays = [schedule.next(None, float(t)) for t in range(10)]
    assert delays[0] == 0.25 and delays == sorted(delays) and delays[-1] == 5.0
    # Progress of 10 %/s at 80 %: about 2 s left, so the next poll is no later than that.
    schedule = PollSchedule(cap=30.0)
    for t in range(20):
        schedule.next(None, float(t))  # backed off to the cap
    assert schedule.next(0.7, 100.0) == 30.0
    assert schedule.next(0.8, 101.0) == pytest.approx(2.0)
    assert schedule.next(0.8, 102.0) == 30.0  # no progress: no estimate
    assert PollSchedule(cap=0.1).next(None, 0.0) == 0.1
