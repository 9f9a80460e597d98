"""Hark scaled out across processes: two `hark serve --no-worker` APIs and two `hark worker`s
on PostgreSQL, Redis and S3 (moto), all real servers started by the fixtures. Leases are
short here (3 s, renewed every 0.5 s) so that recovery takes seconds, not minutes."""

from __future__ import annotations

import json
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
import typer
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hark.cli import app
from hark.settings import Settings
from hark.store import Database, Store, Transcription, TranscriptionQuota, utcnow
from hark.store.models import Base, managed_by_models
from support import (
    JFK,
    LONGFORM,
    REPO,
    Stack,
    assert_error,
    create_job,
    hark_env,
    start_stack,
    upload,
    wait_for,
)
from support.media import repeat_to

API_KEY = "hark_scale_" + secrets.token_hex(8)
FAST_LEASES = {"lease_seconds": "3", "lease_renew_seconds": "0.5", "job_sweep_interval": "0.5"}


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory) -> Stack:
    running = start_stack(
        services,
        tmp_path_factory.mktemp("scale"),
        API_KEY,
        apis=2,
        workers=2,
        allow_private_urls="true",
        webhook_retry_base_seconds="0.5",
        **FAST_LEASES,
    )
    yield running
    running.stop()


def parse_command_line(argv: list[str]) -> None:
    """Parse `hark ARGV` as the CLI would, without running it (a usage error raises)."""
    command = typer.main.get_command(app)
    name, *rest = argv
    context = command.make_context("hark", [name])
    sub = command.get_command(context, name)  # type: ignore[attr-defined]
    assert sub is not None, f"no command {name!r}"
    sub.make_context(name, rest, parent=context)


def metric(text: str, name: str, **labels: str) -> float:
    """One sample's value from a Prometheus exposition."""
    selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name + (f"{{{selector}}}" if selector else "")) + r" (\S+)"
    match = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    assert match, f"{name} {labels} not in metrics"
    return float(match.group(1))


def owner_pid(lease_owner: str) -> int:
    """The process id in a lease token (`host:pid/claim`)."""
    return int(lease_owner.split("/")[0].rsplit(":", 1)[1])


def completions(stack: Stack, transcription_id: str) -> list[int]:
    """How many times each worker logged completing the job."""
    line = f"transcription {transcription_id}: completed"
    return [worker.log().count(line) for worker in stack.workers]


def test_twenty_jobs_across_two_apis_complete_exactly_once(stack, webserver):
    hook = f"/hook/scale-{secrets.token_hex(4)}"
    clients = [api.client() for api in stack.apis]
    files, jobs = [], []
    for i in range(20):
        client = clients[i % 2]
        files.append(upload(client, JFK))
        jobs.append(create_job(client, files[-1]["id"], webhook_url=webserver.url(hook)))
    ids = [job["id"] for job in jobs]
    assert len(stack.services.s3.keys(stack.bucket)) == 20  # the audio is in the bucket

    # Each job is visible, and finishes, through the API that did not create it.
    for i, job_id in enumerate(ids):
        done = wait_for(clients[(i + 1) % 2], job_id, timeout=300)
        assert done["status"] == "completed", done
        transcript = clients[i % 2].get(f"/transcriptions/{job_id}/transcript").json()
        assert "ask not what your country can do for you" in transcript["text"].lower()

    rows = stack.sql("SELECT id, attempts, lease_owner FROM transcriptions WHERE id = ANY(%s)", ids)
    assert sorted(row[0] for row in rows) == sorted(ids)
    assert {row[1] for row in rows} == {1}, "every job was claimed exactly once"
    for job_id in ids:
        assert sum(completions(stack, job_id)) == 1
    pids = {owner_pid(row[2]) for row in rows}
    assert pids == {worker.process.pid for worker in stack.workers}, "both workers worked"

    # One webhook per job, sent by whichever process got to it first.
    webserver.wait_for_requests(hook, 20)
    time.sleep(1.5)
    received = webserver.requests(hook)
    assert sorted(json.loads(r["body"])["id"] for r in received) == sorted(ids)

    # Global figures come from the database, whichever API is scraped; work done is counted
    # by the worker that did it.
    per_api = [httpx.get(f"http://127.0.0.1:{a.port}/metrics").text for a in stack.apis]
    for scraped in per_api:
        assert metric(scraped, "hark_jobs", state="completed") == 20
        assert metric(scraped, "hark_queue_depth") == 0
        assert metric(scraped, "hark_database_up") == 1
    per_worker = [httpx.get(f"http://127.0.0.1:{w.port}/metrics").text for w in stack.workers]
    assert sum(metric(m, "hark_jobs_finished_total", status="completed") for m in per_worker) == 20
    audio = sum(metric(m, "hark_audio_processed_seconds_total") for m in per_worker)
    assert audio == pytest.approx(20 * 11.0, abs=20 * 0.1)
    assert sum(metric(m, "hark_job_processing_seconds_count") for m in per_worker) == 20
    delivered = [
        metric(m, "hark_webhook_deliveries_total", outcome="delivered")
        for m in [*per_api, *per_worker]
    ]
    assert sum(delivered) == 20

    # Deleting the files (through either API) removes their audio from the bucket.
    for i, file in enumerate(files):
        assert clients[(i + 1) % 2].delete(f"/files/{file['id']}").status_code == 204
    assert stack.services.s3.keys(stack.bucket) == []

    # No secret reached a log: database and broker passwords, the S3 secret key.
    logs = stack.logs()
    for secret in (
        stack.services.postgres.password,
        stack.redis.password,
        stack.services.s3.password,
    ):
        assert secret not in logs
    assert "redis://:****@127.0.0.1" in logs


@pytest.mark.slow
def test_kill_9_a_worker_mid_job_and_the_other_completes_it(stack, tmp_path):
    # Over 8 MiB: uploaded as a multipart upload, streamed back to the workers.
    audio = repeat_to(LONGFORM, 280, tmp_path / "long.wav")
    with stack.apis[0].client() as client:
        file = upload(client, audio)
        job_id = create_job(client, file["id"])["id"]
        deadline = time.monotonic() + 120
        while (job := client.get(f"/transcriptions/{job_id}").json())["progress"] <= 0:
            assert job["status"] in ("queued", "processing") and time.monotonic() < deadline
            time.sleep(0.05)
        ((owner,),) = stack.sql("SELECT lease_owner FROM transcriptions WHERE id = %s", job_id)
        (victim,) = [w for w in stack.workers if w.process.pid == owner_pid(owner)]
        (survivor,) = [w for w in stack.workers if w is not victim]
        victim.stop(signal.SIGKILL)
        try:
            done = wait_for(client, job_id, timeout=300)
            assert done["status"] == "completed", done
            text = client.get(f"/transcriptions/{job_id}/transcript").json()["text"]
            assert len(text) > 1000
            ((attempts, owner),) = stack.sql(
                "SELECT attempts, lease_owner FROM transcriptions WHERE id = %s", job_id
            )
            assert attempts == 2
            assert owner.startswith(f"{owner.split(':')[0]}:{survivor.process.pid}/")
            assert f"transcription {job_id}: completed" in survivor.log()
            assert "re-queued 1 jobs whose worker stopped renewing its lease" in stack.logs()
        finally:
            victim.start()
        client.delete(f"/transcriptions/{job_id}")
        client.delete(f"/files/{file['id']}")


@pytest.mark.slow
def test_kill_9_a_worker_mid_batch_loses_no_job(stack, tmp_path):
    """Workers batch several jobs at once (HARK_BATCH_JOBS): killing one mid-batch re-queues
    every job it held, and each completes exactly once."""
    audio = repeat_to(LONGFORM, 90, tmp_path / "long.wav")
    with stack.apis[0].client() as client:
        files = [upload(client, audio)["id"] for _ in range(6)]
        ids = [create_job(client, file_id)["id"] for file_id in files]
        deadline = time.monotonic() + 180
        while True:
            rows = stack.sql(
                "SELECT id, lease_owner FROM transcriptions WHERE id = ANY(%s)"
                " AND status = 'processing' AND progress > 0",
                ids,
            )
            held: dict[int, list[str]] = {}
            for job_id, owner in rows:
                held.setdefault(owner_pid(owner), []).append(job_id)
            busiest = max(held.items(), key=lambda item: len(item[1]), default=(0, []))
            if len(busiest[1]) >= 2:
                break
            assert time.monotonic() < deadline, "no worker ran two jobs at once"
            time.sleep(0.05)
        pid, lost = busiest
        (victim,) = [w for w in stack.workers if w.process.pid == pid]
        victim.stop(signal.SIGKILL)
        try:
            for job_id in ids:
                assert wait_for(client, job_id, timeout=600)["status"] == "completed"
                assert sum(completions(stack, job_id)) == 1
            attempts = dict(
                stack.sql("SELECT id, attempts FROM transcriptions WHERE id = ANY(%s)", ids)
            )
            assert all(attempts[job_id] == 2 for job_id in lost), attempts
        finally:
            victim.start()
        for job_id in ids:
            client.delete(f"/transcriptions/{job_id}")
        for file_id in files:
            client.delete(f"/files/{file_id}")


@pytest.mark.slow
def test_restarting_redis_mid_run_loses_nothing(stack):
    clients = [api.client() for api in stack.apis]
    ids = []
    for i in range(6):
        client = clients[i % 2]
        ids.append(create_job(client, upload(client, JFK)["id"])["id"])
    stack.redis.stop()  # no persistence: every message the broker held is gone

    # The API keeps taking jobs (they wait in the database) and says it is not ready.
    ready = httpx.get(f"http://127.0.0.1:{stack.apis[0].port}/readyz", timeout=30)
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"] == "ok" and checks["storage"] == "ok"
    assert checks["broker"].startswith("error")
    assert stack.redis.password not in ready.text
    for i in range(2):
        client = clients[i % 2]
        ids.append(create_job(client, upload(client, JFK)["id"])["id"])

    stack.redis.start()
    for job_id in ids:
        assert wait_for(clients[0], job_id, timeout=300)["status"] == "completed"
        assert sum(completions(stack, job_id)) == 1
    ready = httpx.get(f"http://127.0.0.1:{stack.apis[1].port}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    assert "the queue lost its messages" in stack.logs()


@pytest.mark.slow
def test_restarting_postgresql_mid_run_loses_nothing(stack):
    """PostgreSQL restarted while jobs run: the APIs answer 503 (and /readyz says which
    check fails) while it is down, the workers wait it out, and every job, submitted
    before or after, completes exactly once."""
    clients = [api.client() for api in stack.apis]
    ids = []
    for i in range(6):
        client = clients[i % 2]
        ids.append(create_job(client, upload(client, JFK)["id"])["id"])
    file_id = clients[0].get(f"/transcriptions/{ids[0]}").json()["file_id"]
    postgres = stack.services.postgres
    deadline = time.monotonic() + 60
    while not stack.sql("SELECT 1 FROM transcriptions WHERE status = 'processing'"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    postgres.stop()  # fast shutdown: every open connection is cut
    try:
        for client in clients:
            for response in (
                client.get(f"/transcriptions/{ids[0]}"),
                client.post("/transcriptions", json={"model": "stt-async-v5", "file_id": file_id}),
                client.get("/files"),
            ):
                body = assert_error(response, 503, "service_unavailable")
                assert body["message"] == "The database is unavailable. Please try again."
                assert int(response.headers["retry-after"]) > 0
        ready = httpx.get(f"http://127.0.0.1:{stack.apis[0].port}/readyz", timeout=30)
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"].startswith("error") and checks["broker"] == "ok"
        assert postgres.password not in ready.text
        time.sleep(4)  # longer than a lease: the workers' writes and renewals fail meanwhile
    finally:
        postgres.start()
    for i in range(2):
        client = clients[i % 2]
        ids.append(create_job(client, upload(client, JFK)["id"])["id"])
    for job_id in ids:
        done = wait_for(clients[0], job_id, timeout=300)
        assert done["status"] == "completed", done
        assert sum(completions(stack, job_id)) == 1
    for api in stack.apis:
        ready = httpx.get(f"http://127.0.0.1:{api.port}/readyz", timeout=30)
        assert ready.status_code == 200, ready.text


def test_a_job_finishes_once_however_workers_race(services):
    store = Store(Database(services.postgres.create_database("race")))
    store.db.migrate()
    project = store.ensure_project("race")
    job = store.add_transcription(
        Transcription(project_id=project.id, model="m", filename="a.wav", status="queued"),
        TranscriptionQuota(max_transcriptions=1, max_pending=1),
    )
    short = timedelta(seconds=0.3)
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda i: store.claim(job.id, f"worker-{i}", short), range(8)))
    (first,) = [c for c in claims if c is not None]
    assert first.attempts == 1

    time.sleep(0.5)  # the first worker stalls past its lease...
    assert store.requeue_abandoned(3, utcnow()) == (1, 0)
    second = store.claim(job.id, "worker-second", timedelta(seconds=60))
    assert second is not None and second.attempts == 2
    # ...and everything it tries afterwards matches nothing.
    assert not store.renew_lease(job.id, first.lease_owner, short)
    assert not store.complete(job.id, first.lease_owner, "stale", [])
    assert not store.fail(job.id, first.lease_owner, "internal_error", "stale")
    assert store.renew_lease(job.id, "worker-second", timedelta(seconds=60))
    assert store.complete(job.id, "worker-second", "fresh", [])
    assert not store.complete(job.id, "worker-second", "again", [])
    assert store.get_transcript(job.id).text == "fresh"
    assert store.get_transcription(project.id, job.id).status == "completed"

    # Many processes may start at once: creating the same project never fails.
    with ThreadPoolExecutor(8) as pool:
        projects = list(pool.map(lambda _: store.ensure_project("fresh"), range(8)))
    assert len({p.id for p in projects}) == 1
    store.db.dispose()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_migrations_build_exactly_the_models_schema(services, tmp_path, dialect):
    url = (
        f"sqlite:///{tmp_path / 'hark.db'}"
        if dialect == "sqlite"
        else services.postgres.create_database(f"migrations_{secrets.token_hex(3)}")
    )
    db = Database(url)
    # Four processes starting together: one migrates, the others find nothing to do.
    threads = [threading.Thread(target=db.migrate) for _ in range(4 if dialect != "sqlite" else 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        context = MigrationContext.configure(connection, opts={"include_object": managed_by_models})
        differences = compare_metadata(context, Base.metadata)
    db.dispose()
    assert version == "0012"
    assert differences == []


def test_worker_needs_a_queue(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "hark.cli", "worker", "--data-dir", str(tmp_path)],
        env=hark_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "HARK_QUEUE_URL" in result.stderr


def test_readyz_names_what_is_unreachable(stack):
    response = httpx.get(f"http://127.0.0.1:{stack.apis[0].port}/readyz", timeout=30)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "storage": "ok", "broker": "ok"},
    }


def test_the_compose_file_deploys_what_the_tests_run():
    """Docker is not available here, so the compose file is checked against the code: the
    commands exist, every HARK_* variable is a setting, and the backends are the tested
    ones (PostgreSQL via psycopg, S3, Redis)."""
    services = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())["services"]
    assert {"postgres", "redis", "minio", "api", "worker", "migrate"} <= set(services)
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["api"]["command"][:3] == ["hark", "serve", "--no-worker"]
    assert services["worker"]["command"] == ["hark", "worker"]
    settings = set(Settings.model_fields)
    for name in ("api", "worker", "migrate"):
        parse_command_line(services[name]["command"][1:])
        env = services[name]["environment"]
        unknown = [k for k in env if k.startswith("HARK_") and k[5:].lower() not in settings]
        assert not unknown, f"{name}: {unknown}"
        assert env["HARK_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["HARK_STORAGE_URL"].startswith("s3://")
        assert env["HARK_QUEUE_URL"].startswith("redis://")


def test_quotas_hold_across_replicas(stack):
    """Concurrent uploads through both APIs never take a project over its file limit: the
    check and the insert lock the project's row in PostgreSQL."""
    key = stack.apis[0].new_key("quota-race")
    stack.apis[0].hark("limits", "--project=quota-race", "--max-files=5")
    clients = [api.client(key) for api in stack.apis]

    def attempt(i: int) -> int:
        return clients[i % 2].post("/files", files={"file": (f"{i}.wav", b"x" * 100)}).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(attempt, range(16)))
    assert sorted(codes) == [201] * 5 + [400] * 11
    assert clients[1].get("/files/count").json()["total"] == 5


def test_audio_url_jobs_are_downloaded_by_the_workers(stack, webserver):
    """The download stage runs in `hark worker` processes: the audio goes to the bucket (any
    worker can run the job) while the job stays queued, and is removed once it is done."""
    key = secrets.token_hex(4)
    client = stack.apis[0].client()
    before = set(stack.services.s3.keys(stack.bucket))
    response = client.post(
        "/transcriptions",
        json={"model": "stt-async-v5", "audio_url": webserver.url(f"/held/{key}/misc/jfk.flac")},
    )
    assert response.status_code == 201, response.text
    held = response.json()["id"]
    webserver.wait_for_requests(f"/held/{key}", 1)
    assert client.get(f"/transcriptions/{held}").json()["status"] == "queued"
    httpx.get(webserver.url(f"/release/{key}"), timeout=10)
    job = wait_for(stack.apis[1].client(), held, timeout=120)
    assert job["status"] == "completed", job
    transcript = client.get(f"/transcriptions/{held}/transcript").json()
    assert "ask not what your country can do for you" in transcript["text"].lower()
    assert set(stack.services.s3.keys(stack.bucket)) == before
