"""Engine faults never take the API down: the engine runs in a supervised child process.

Real faults in a real `hark serve`: the engine process is killed with SIGKILL from outside,
or (HARK_ENGINE_TEST_FAULTS, test-only) executes an illegal instruction, reads address 0 or
hangs when a job's prompt asks it to (see hark.engine.faults).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from support import (
    JFK,
    LONGFORM,
    Server,
    create_job,
    start_server,
    start_stack,
    upload,
    wait_for,
)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Fault injection on, the default number of retries (2)."""
    srv = start_server(
        tmp_path_factory.mktemp("faulty"),
        api_key="hark_test_" + secrets.token_hex(8),
        engine_test_faults="true",
    )
    yield srv
    srv.stop()


@pytest.fixture
def client(faulty: Server) -> Iterator[httpx.Client]:
    with faulty.client() as c:
        yield c


def engine(server: Server) -> dict:
    """The engine entry of /readyz, once the engine is ready."""
    deadline = time.monotonic() + 120
    while True:
        ready = httpx.get(f"http://127.0.0.1:{server.port}/readyz", timeout=30).json()
        if ready.get("engine", {}).get("status") == "ok" or time.monotonic() > deadline:
            return ready["engine"]
        time.sleep(0.2)


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@contextmanager
def api_answering(server: Server) -> Iterator[list[int]]:
    """Poll /healthz and the job list back to back for the duration of the block; every
    request must succeed. Yields the list of status codes seen so far."""
    seen: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        with server.client() as api:
            while not stop.is_set():
                for url in (f"http://127.0.0.1:{server.port}/healthz", "/transcriptions"):
                    try:
                        response = api.get(url, timeout=5)
                        seen.append(response.status_code)
                        if response.status_code != 200:
                            failures.append(f"{url}: {response.status_code}")
                    except httpx.HTTPError as exc:
                        failures.append(f"{url}: {exc!r}")
                time.sleep(0.05)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(10)
    assert not failures, failures[:5]


def transcribe(client: httpx.Client, path: Path, timeout: float = 300, **body) -> dict:
    return wait_for(client, create_job(client, upload(client, path)["id"], **body)["id"], timeout)


def fault(spec: str) -> dict:
    """A context whose prompt asks the engine for a fault, unique to this job (`:once`
    markers are per prompt)."""
    return {"context": {"text": f"hark-test-fault:{spec} {secrets.token_hex(4)}"}}


def test_readyz_reports_the_engine_process(faulty):
    info = engine(faulty)
    assert info["status"] == "ok", info
    assert info["model"] == "default" and info["device"] == "cpu"
    assert running(info["pid"]) and parent_of(info["pid"]) == faulty.process.pid
    assert f"speech engine ready: process {info['pid']}, model default, device cpu" in faulty.log()


def test_engine_killed_mid_job_the_job_completes_and_the_api_answers_throughout(faulty, client):
    before = engine(faulty)
    job_id = create_job(client, upload(client, LONGFORM)["id"])["id"]
    with api_answering(faulty) as seen:
        deadline = time.monotonic() + 120
        while (job := client.get(f"/transcriptions/{job_id}").json())["progress"] in (None, 0):
            assert time.monotonic() < deadline and job["status"] in ("queued", "processing"), job
            time.sleep(0.05)
        assert job["status"] == "processing"  # recognizing: killed mid-job
        os.kill(before["pid"], signal.SIGKILL)
        killed_at = len(seen)
        job = wait_for(client, job_id, timeout=300)
        assert len(seen) > killed_at + 10  # the API was asked (and answered) meanwhile
    assert job["status"] == "completed", job
    text = client.get(f"/transcriptions/{job_id}/transcript").json()["text"]
    assert "ivory" in text.lower()
    after = engine(faulty)
    assert after["pid"] != before["pid"] and after["restarts"] == before["restarts"] + 1
    assert not running(before["pid"])  # reaped, not a zombie
    assert f"speech engine process {before['pid']} ended (SIGKILL" in faulty.log()
    assert f"transcription {job_id}: The speech engine crashed (SIGKILL" in faulty.log()


@pytest.mark.parametrize(
    ("spec", "options", "signal_name", "stage"),
    [
        ("sigill@asr", {}, "SIGILL, illegal instruction", "speech recognition"),
        (
            "sigsegv@diarize",
            {"enable_speaker_diarization": True},
            "SIGSEGV, segmentation fault",
            "speaker diarization",
        ),
    ],
)
def test_a_persistent_fault_fails_only_its_job_after_the_retries(
    faulty, client, spec, options, signal_name, stage
):
    before = engine(faulty)
    with api_answering(faulty):
        job = transcribe(client, JFK, **fault(spec), **options)
    assert job["status"] == "error", job
    assert job["error_type"] == "engine_crashed"
    assert job["error_message"] == (
        f"The speech engine crashed ({signal_name}) during {stage}. It was tried 3 times."
    )
    assert engine(faulty)["restarts"] == before["restarts"] + 3
    # A fresh engine takes the next job.
    job = transcribe(client, JFK)
    assert job["status"] == "completed", job
    assert "country" in client.get(f"/transcriptions/{job['id']}/transcript").json()["text"]


def test_a_transient_fault_is_retried_and_the_job_completes(faulty, client):
    before = engine(faulty)
    job = transcribe(client, JFK, **fault("sigill@asr:once"))
    assert job["status"] == "completed", job
    assert "country" in client.get(f"/transcriptions/{job['id']}/transcript").json()["text"]
    assert engine(faulty)["restarts"] == before["restarts"] + 1
    assert f"transcription {job['id']}: The speech engine crashed (SIGILL" in faulty.log()
    assert "Retrying (1 of 2)" in faulty.log()


def realtime(server: Server, context: str) -> list[dict]:
    """A realtime session streaming jfk.flac with this context; the messages it got."""
    url = f"ws://127.0.0.1:{server.port}/transcribe-websocket"
    with connect(url, additional_headers={"Authorization": f"Bearer {server.api_key}"}) as ws:
        ws.send(json.dumps({"model": "stt-rt-v5", "context": context}))
        ws.send(JFK.read_bytes())
        ws.send("")
        return [json.loads(m) for m in ws]


def test_a_crashed_engine_ends_its_live_sessions_with_an_error(faulty):
    """A live session's recogniser lives in the engine process: a native fault there ends
    the session with an error message (its state cannot be replayed), never the API, and
    the next session runs on a fresh engine process."""
    with api_answering(faulty):
        failed = realtime(faulty, fault("sigsegv@asr")["context"]["text"])
    assert failed[-1]["error_code"] == 500, failed
    assert failed[-1]["error_type"] == "engine_crashed"
    assert "crashed (SIGSEGV" in failed[-1]["error_message"]
    assert "speech recognition" in failed[-1]["error_message"]
    after = realtime(faulty, "")
    assert "country" in "".join(t["text"] for m in after for t in m.get("tokens", ())), after
    assert after[-1]["finished"]


def test_fault_injection_is_off_unless_enabled(api):
    """The shared server (default settings) ignores the test-only fault marker."""
    job = transcribe(api, JFK, **fault("sigkill@asr"))
    assert job["status"] == "completed", job


def test_a_hung_engine_is_stopped_at_the_stage_deadline(tmp_path):
    srv = start_server(
        tmp_path,
        api_key="hark_test_" + secrets.token_hex(8),
        engine_test_faults="true",
        engine_stage_timeout="10",
        engine_max_retries="1",
    )
    try:
        with srv.client() as client:
            engine(srv)
            started = time.monotonic()
            with api_answering(srv):
                job = transcribe(client, JFK, **fault("hang@asr"))
            assert time.monotonic() - started >= 2 * 10
            assert job["status"] == "error", job
            assert job["error_type"] == "engine_crashed"
            assert job["error_message"] == (
                "The speech engine hung during speech recognition: no progress for 10 s (the "
                "deadline per stage), so it was stopped. It was tried 2 times."
            )
            assert transcribe(client, JFK)["status"] == "completed"
    finally:
        srv.stop()


def test_hark_worker_supervises_its_engine_the_same_way(services, tmp_path):
    stack = start_stack(
        services, tmp_path, api_key="hark_test_" + secrets.token_hex(8), engine_test_faults="true"
    )
    try:
        worker = stack.workers[0]
        with stack.apis[0].client() as client:
            job = transcribe(client, JFK, **fault("sigkill@asr:once"))
            assert job["status"] == "completed", job
            job = transcribe(client, JFK, **fault("sigsegv@decode"))
            assert job["status"] == "error" and job["error_type"] == "engine_crashed", job
            assert job["error_message"] == (
                "The speech engine crashed (SIGSEGV, segmentation fault) during audio "
                "decoding. It was tried 3 times."
            )
            assert transcribe(client, JFK)["status"] == "completed"
        assert worker.process.poll() is None  # the worker itself never went down
        assert worker.log().count("speech engine ready: process") == 1 + 1 + 3
    finally:
        stack.stop()


def test_the_engine_process_yields_the_cpus_to_the_api(faulty):
    """HARK_ENGINE_NICE (10 by default) on every thread of the engine process, those its
    imports started (OpenBLAS's) included; the server itself keeps its priority."""
    pid = engine(faulty)["pid"]
    assert faulty.process is not None
    api = nice_of(Path(f"/proc/{faulty.process.pid}/stat"))
    threads = list(Path(f"/proc/{pid}/task").iterdir())
    assert len(threads) > 1
    assert {nice_of(thread / "stat") for thread in threads} == {min(api + 10, 19)}


def nice_of(stat: Path) -> int:
    # proc(5): the nice value is field 19; the fields after the command name start at 3.
    return int(stat.read_text().rpartition(")")[2].split()[19 - 3])


def test_the_engine_process_ends_with_its_server(tmp_path):
    for how in (signal.SIGTERM, signal.SIGKILL):  # shut down, or died: no engine left behind
        srv = start_server(tmp_path, api_key="hark_test_" + secrets.token_hex(8))
        pid = engine(srv)["pid"]
        srv.stop(how)
        deadline = time.monotonic() + 30
        while running(pid):
            assert time.monotonic() < deadline, f"engine {pid} outlived its server ({how!r})"
            time.sleep(0.1)
