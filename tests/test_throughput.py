"""Fair turns across projects, per-project caps on jobs in flight, queue positions and ETAs,
the status poll's fast path (fresh and scoped), and webhooks that do not wait on each other;
all through a real `hark serve` with two workers."""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from hark.client import Client
from hark.client._plans import PollSchedule
from hark.service.transcriptions import THROUGHPUT_TTL_SECONDS, eta_seconds
from hark.store.queue import InFlight, QueueSnapshot, Throughput, fair_position
from support import (
    JFK,
    LONGFORM,
    TERMINAL,
    Server,
    WebServer,
    assert_error,
    create_job,
    start_server,
    start_stack,
    upload,
)
from support.media import repeat_to

HANG_SECONDS = 40  # a webhook receiver that answers this late (Hark waits webhook_timeout)


@pytest.fixture(scope="module")
def fair_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        tmp_path_factory.mktemp("hark-fair"),
        api_key="hark_test_" + secrets.token_hex(8),
        workers="2",
        max_jobs_in_flight_per_project="1",
        allow_private_urls="true",
        webhook_timeout=str(HANG_SECONDS + 10),
        webhook_concurrency="4",  # at most one attempt at a time per receiver
    )
    yield srv
    srv.stop()


def project(server: Server, **limits: int) -> httpx.Client:
    name = "p-" + secrets.token_hex(4)
    key = server.new_key(name)
    if limits:
        flags = [f"--{n.replace('_', '-')}={v}" for n, v in limits.items()]
        server.hark("limits", f"--project={name}", *flags)
    return server.client(key)


def submit(client: httpx.Client, count: int, **body) -> list[str]:
    file_id = upload(client, JFK)["id"]
    return [create_job(client, file_id, **body)["id"] for _ in range(count)]


def states(client: httpx.Client, ids: list[str]) -> list[dict]:
    return [client.get(f"/transcriptions/{i}").raise_for_status().json() for i in ids]


def snapshot(client: httpx.Client, ids: list[str]) -> list[dict]:
    """The jobs as at one moment: each GET is its own read, so a job that moves on between
    them would make the others' queue positions disagree. Statuses only move forward, so when
    the reads before and after agree, nothing moved during the one in between."""
    before = states(client, ids)
    while True:
        during, after = states(client, ids), states(client, ids)
        if [j["status"] for j in before] == [j["status"] for j in after]:
            return during
        before = after


def cut_in(rows: list[tuple], busy: list[str], single: str) -> list[str]:
    """The busy project's jobs that started after `single` was queued and before it started,
    from rows of (id, created_at, started_at): what it waited for beyond the jobs already in
    progress. Read from the database, not inferred from how many were left when it finished
    (that depends on how fast jobs run and how soon the test looks)."""
    times = {row[0]: row[1:] for row in rows}
    queued_at, started_at = times[single]
    return [b for b in busy if times[b][1] is not None and queued_at < times[b][1] < started_at]


def wait_all(client: httpx.Client, ids: list[str], timeout: float = 300) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = states(client, ids)
        if all(j["status"] in TERMINAL for j in jobs):
            return jobs
        time.sleep(0.2)
    raise AssertionError(f"jobs unfinished after {timeout}s: {[j['status'] for j in jobs]}")


def test_a_second_projects_job_runs_while_the_first_has_a_long_queue(fair_server):
    # The busy project may use both workers, so only taking turns lets the other one in.
    busy = project(fair_server, max_jobs_in_flight_per_project=2)
    other = project(fair_server)
    queue = submit(busy, 10)
    time.sleep(0.5)
    (single,) = submit(other, 1)
    deadline = time.monotonic() + 300
    while (job := other.get(f"/transcriptions/{single}").json())["status"] not in TERMINAL:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "completed"
    with sqlite3.connect(fair_server.data_dir / "hark.db") as db:
        rows = db.execute("SELECT id, created_at, started_at FROM transcriptions").fetchall()
    # It waited for at most the jobs in progress when it was queued (one turn), not for the
    # queue ahead of it: the next job to start was its own (one more at most, claimed as it
    # was being queued).
    assert len(cut_in(rows, queue, single)) <= 1, cut_in(rows, queue, single)
    assert all(j["status"] == "completed" for j in wait_all(busy, queue))


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """15 minutes of speech: a job on it holds a capped project's line for a while."""
    return repeat_to(LONGFORM, 900, tmp_path_factory.mktemp("long") / "long.wav")


def hold_line(client: httpx.Client, recording: Path) -> str:
    """A long job first in a project's line (cancel it to let the rest go on): the jobs
    behind it are seen queued however slowly the test looks."""
    return create_job(client, upload(client, recording)["id"])["id"]


def test_per_project_cap_and_queue_visibility(fair_server, long_recording):
    capped = project(fair_server)  # the server's default: one job in flight per project
    # ETAs come from measured throughput: one finished job, and the estimate's cache renewed.
    wait_all(capped, submit(capped, 1))
    time.sleep(THROUGHPUT_TTL_SECONDS)
    held = hold_line(capped, long_recording)  # cancelled once the line is checked
    ids = [held, *submit(capped, 3)]
    seen_processing = 0
    positions_checked = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        jobs = snapshot(capped, ids)
        processing = [j for j in jobs if j["status"] == "processing"]
        queued = [j for j in jobs if j["status"] == "queued"]
        # Two workers, but this project may only have one job processed at a time.
        assert len(processing) <= 1, [j["status"] for j in jobs]
        seen_processing = max(seen_processing, len(processing))
        # Queued jobs stand in line in the order they were created, 1 being next.
        assert [j["queue_position"] for j in queued] == list(range(1, len(queued) + 1))
        for job in jobs:
            if job["status"] in TERMINAL:
                assert job["queue_position"] is None and job["eta_seconds"] is None
            elif job["status"] == "processing":
                assert job["queue_position"] is None
        if not positions_checked and processing and len(queued) >= 2:
            # Measured throughput exists (earlier jobs finished): later in line, later done.
            etas = [processing[0]["eta_seconds"]] + [j["eta_seconds"] for j in queued]
            assert all(e is not None and e >= 0 for e in etas), etas
            assert etas == sorted(etas) and etas[-1] > etas[0], etas
            positions_checked = True
            capped.post(f"/transcriptions/{held}/cancel").raise_for_status()
        if all(j["status"] in TERMINAL for j in jobs):
            break
        time.sleep(0.1)
    assert positions_checked and seen_processing == 1
    assert [j["status"] for j in states(capped, ids)] == ["error"] + ["completed"] * 3


def test_the_client_reads_queue_visibility_and_polls_by_the_eta(fair_server, long_recording):
    capped = project(fair_server)
    ids = [hold_line(capped, long_recording), *submit(capped, 2)]  # the first cancelled once read
    key = capped.headers["authorization"].split()[1]
    with Client(api_key=key, api_base_url=fair_server.base_url) as client:
        jobs = [client.stt.get(i) for i in ids]
        assert [j.status for j in jobs[1:]] == ["queued", "queued"], jobs
        assert all(j.queue_position is not None for j in jobs[1:]), jobs
        client.stt.cancel(ids[0])
        last = client.stt.wait(ids[-1], interval_sec=1)
        assert client.stt.get(ids[1]).eta_seconds is None  # completed before it
    assert last.status == "completed" and last.queue_position is None
    # Backed off to its longest pause, a poll still comes no later than the server's ETA.
    schedule = PollSchedule(cap=30.0)
    for t in range(20):
        schedule.next(None, float(t))
    assert schedule.next(None, 20.0, eta=2.0) == 2.0
    assert schedule.next(None, 21.0, eta=0.01) == 0.25  # never faster than the first pause
    assert schedule.next(None, 22.0) == 30.0


def test_status_poll_is_fresh_scoped_and_matches_the_app(fair_server, webserver: WebServer):
    owner, stranger = project(fair_server), project(fair_server)
    hook = f"/hook/fresh-{secrets.token_hex(4)}"
    (job_id,) = submit(owner, 1, webhook_url=webserver.url(hook))
    (own_id,) = submit(stranger, 1)
    stranger.get(f"/transcriptions/{own_id}").raise_for_status()  # its key is now cached
    # Another project's job does not exist for it, on the fast path as on any other.
    assert_error(stranger.get(f"/transcriptions/{job_id}"), 404, "transcription_not_found")
    # The webhook is recorded in the transaction that completes the job: once it arrives,
    # the very next poll must say so, though the job was polled all along (the fast path
    # reuses what it made of a row read again unchanged).
    deadline = time.monotonic() + 300
    while not webserver.requests(hook):
        assert time.monotonic() < deadline, "no webhook after 300 s"
        owner.get(f"/transcriptions/{job_id}").raise_for_status()
        time.sleep(0.02)
    polled = owner.get(f"/transcriptions/{job_id}")
    assert polled.status_code == 200 and polled.headers["x-request-id"]
    assert polled.json()["status"] == "completed"
    # The fast path's body is the app's own (here from the list endpoint).
    listed = owner.get("/transcriptions").json()["transcriptions"]
    assert polled.json() == next(j for j in listed if j["id"] == job_id)
    wait_all(stranger, [own_id])


def test_a_hanging_webhook_receiver_delays_only_its_own(fair_server, webserver: WebServer):
    client = project(fair_server)
    tag = secrets.token_hex(4)
    hanging = f"/hook/hang-{tag}"
    hang_url = webserver.url(f"{hanging}?hang={HANG_SECONDS}", host="127.0.0.2")
    prompt = f"/hook/ok-{tag}"
    submit(client, 2, webhook_url=hang_url)
    (last,) = submit(client, 1, webhook_url=webserver.url(prompt))
    (done,) = wait_all(client, [last])
    finished = time.time()
    (received,) = webserver.wait_for_requests(prompt, 1, timeout=HANG_SECONDS)
    assert received["time"] - finished < 10  # not held behind the hanging receiver
    assert done["status"] == "completed"
    # The hanging receiver's deliveries go one at a time, so the second is not even sent
    # until the first is answered.
    assert len(webserver.requests(hanging)) == 1


def test_scaled_out_workers_take_turns_and_keep_caps(services, tmp_path_factory):
    """The Celery path: messages only say that jobs wait; the worker claims whichever job's
    turn it is, and jobs held back by a cap are sent again when a job finishes."""
    stack = start_stack(
        services,
        tmp_path_factory.mktemp("fair-scaled"),
        "hark_test_" + secrets.token_hex(8),
        workers=2,  # two `hark worker`s, a job at a time each
        max_jobs_in_flight_per_project="1",
    )
    try:
        api = stack.apis[0]
        busy, other = project(api, max_jobs_in_flight_per_project=2), project(api)
        queue = submit(busy, 10)
        time.sleep(0.5)
        (single,) = submit(other, 1)
        (job,) = wait_all(other, [single])
        assert job["status"] == "completed"
        # Its turn came when the busy project's jobs in progress were done, not after all ten.
        rows = stack.sql(
            "SELECT id, created_at, started_at FROM transcriptions WHERE id = ANY(%s)",
            [*queue, single],
        )
        assert len(cut_in(rows, queue, single)) <= 1, cut_in(rows, queue, single)
        capped = project(api)
        held = submit(capped, 3)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            jobs = snapshot(capped, held)
            assert sum(j["status"] == "processing" for j in jobs) <= 1, jobs
            if all(j["status"] in TERMINAL for j in jobs):
                break
            time.sleep(0.1)
        assert all(j["status"] == "completed" for j in [*jobs, *wait_all(busy, queue)])
    finally:
        stack.stop()


def test_queue_positions_follow_the_turns():
    """Two projects' queues interleave: B (never served) goes first, then they alternate."""
    t = datetime(2026, 1, 1, tzinfo=UTC)
    per_project = [("a", 3, t, t + timedelta(seconds=5)), ("b", 2, t + timedelta(seconds=1), None)]
    order = {("b", 0): 1, ("a", 0): 2, ("b", 1): 3, ("a", 1): 4, ("a", 2): 5}
    for (name, ahead), position in order.items():
        assert fair_position(name, ahead, per_project) == position, (name, ahead)


def test_a_queued_jobs_eta_counts_what_the_workers_are_on():
    """Worked examples of the estimate: 10 audio-s per second, a mean job of 1 s."""
    speed = Throughput(audio_per_second=10.0, job_seconds=1.0)
    long_a = InFlight("a", 400_000, 0.5)  # 20 s of its 40 s left
    short_b = InFlight("b", 20_000, 0.0)  # 2 s left

    def eta(project: str, position: int, *in_flight: InFlight, cap: int | None = None):
        row = SimpleNamespace(status="queued", project_id=project, audio_duration_ms=10_000)
        per_project = None if cap is None else lambda _project: cap
        return eta_seconds(row, QueueSnapshot(position, in_flight), speed, per_project)

    # Behind a long job on the only busy worker: its rest, then its own 1 s.
    assert eta("a", 1, long_a) == 21.0
    # Two busy workers: the first free one (2 s), then the mean job for each one ahead.
    assert [eta("c", p, long_a, short_b) for p in (1, 2, 3)] == [3.0, 4.0, 5.0]
    # ...unless its project is at its cap: then it also waits for its own job to end.
    assert eta("a", 1, long_a, short_b, cap=1) == 21.0
    assert eta("a", 1, long_a, short_b, cap=2) == 3.0
    # Nothing in flight: the jobs ahead, one after another.
    assert eta("c", 3) == 3.0
    # A long line: 1000 jobs of 1 s on two workers (the first 256 placed one by one, the
    # rest spread evenly), after the 1 s they are on; then its own 1 s.
    assert eta("c", 1001, InFlight("c", None, 0), InFlight("d", None, 0)) == 502.0
