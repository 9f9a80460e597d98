"""Real PostgreSQL, Redis and S3-compatible servers for the scaled-out tests, and the Debian
packages the tests need.

PostgreSQL and Redis come from Debian packages (`apt-get install postgresql redis-server`,
run here when their binaries are missing), as do Apertium's English-Spanish pair for the
translation tests and sox for the multitrack recordings; S3 is `moto` in server mode from
PyPI, standing in for AWS S3 / MinIO. Each runs as its own process on a free loopback port
with its data in a temporary directory, and is stopped (and its directory removed) at the end.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

# Debian package -> whether it is installed.
APT_PACKAGES = {
    "postgresql": lambda: postgres_bin() is not None,
    "redis-server": lambda: shutil.which("redis-server") is not None,
    "apertium": lambda: shutil.which("apertium") is not None,
    "apertium-eng-spa": lambda: Path("/usr/share/apertium/modes/eng-spa.mode").is_file(),
    "sox": lambda: shutil.which("sox") is not None,  # multitrack WAVs (test_channels.py)
    "chromium": lambda: shutil.which("chromium") is not None,
    "chromium-driver": lambda: shutil.which("chromedriver") is not None,
}
SERVERS = ("postgresql", "redis-server")
TRANSLATION = ("apertium", "apertium-eng-spa")
BROWSER = ("chromium", "chromium-driver")  # the console's end-to-end tests
NOBODY = 65534  # PostgreSQL refuses to run as root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (Debian layout), if any."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    found.sort(key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def ensure_installed(*packages: str) -> None:
    """Install these Debian packages unless already there."""
    missing = [name for name in packages if not APT_PACKAGES[name]()]
    if not missing:
        return
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    if os.geteuid() != 0:
        raise RuntimeError(f"these tests need {missing}: run `sudo {' '.join(command)}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)


def _wait(ready, what: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n{log.read_text(errors='replace')}")
        try:
            if ready():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Service:
    """A server process of our own: a temporary directory, a free port, a password."""

    name = "service"

    def __init__(self) -> None:
        # Under /tmp even if TMPDIR points elsewhere: PostgreSQL runs as `nobody` there.
        self.root = Path(tempfile.mkdtemp(prefix=f"hark-{self.name}-", dir="/tmp"))
        self.port = free_port()
        self.password = f"{self.name}-{secrets.token_hex(8)}"
        self.log = self.root / f"{self.name}.log"
        self.process: subprocess.Popen | None = None

    def _launch(self, command: list, ready, **popen) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, **popen)
        _wait(ready, self.name, self.process, self.log)


class Postgres(Service):
    """A private PostgreSQL cluster with password authentication (user `hark`)."""

    name = "postgres"
    user = "hark"

    def start(self) -> Postgres:
        """Start the cluster: a new one, or (after stop()) the same again, data intact."""
        bin_dir = postgres_bin()
        assert bin_dir is not None
        as_root = os.geteuid() == 0
        user = {"user": NOBODY, "group": NOBODY} if as_root else {}
        data = self.root / "data"
        if not data.exists():
            pwfile = self.root / "pwfile"
            pwfile.write_text(self.password + "\n")
            if as_root:
                os.chown(self.root, NOBODY, NOBODY)
                os.chown(pwfile, NOBODY, NOBODY)
            initdb = [bin_dir / "initdb", "-D", data, "-U", self.user, "--pwfile", pwfile]
            subprocess.run(
                [*initdb, "-A", "scram-sha-256", "-E", "UTF8", "--no-sync"],
                check=True,
                capture_output=True,
                **user,
            )
        settings = ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        settings += ["max_connections=400", "shared_buffers=64MB"]
        command = [bin_dir / "postgres", "-D", data, "-p", str(self.port), "-h", "127.0.0.1"]
        command += ["-k", str(self.root)] + [arg for s in settings for arg in ("-c", s)]
        self._launch(command, lambda: self.connect("postgres").close() or True, **user)
        return self

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
            autocommit=True,
            connect_timeout=5,
        )

    def create_database(self, name: str) -> str:
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server, keeping its data: start() brings it back."""
        _stop(self.process, signal.SIGINT)  # "fast" shutdown: sessions are cut off
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Redis(Service):
    """A private Redis without persistence: a restart loses everything it held."""

    name = "redis"

    def start(self) -> Redis:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.root)]
        command += ["--requirepass", self.password]
        self._launch(command, self.ping)
        return self

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def ping(self) -> bool:
        import redis

        with redis.Redis(port=self.port, password=self.password, socket_timeout=2) as client:
            return bool(client.ping())

    def stop(self) -> None:
        _stop(self.process)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class S3(Service):
    """moto's S3 in server mode: an S3-compatible endpoint standing in for AWS S3 / MinIO.
    Its password is the secret access key (moto accepts any credentials)."""

    name = "s3"
    access_key = "hark-test-access"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3:
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self._launch(command, lambda: httpx.get(self.endpoint, timeout=2).status_code < 500)
        return self

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.password,
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", ())]

    def stop(self) -> None:
        _stop(self.process)
        shutil.rmtree(self.root, ignore_errors=True)


class Services:
    """One PostgreSQL and one S3 server for the session; each stack gets its own database
    and bucket (and its own Redis, so restarting one disturbs no other)."""

    def __init__(self) -> None:
        ensure_installed(*SERVERS)
        self.postgres = Postgres().start()
        self.s3 = S3().start()
        self._count = 0

    def new_name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}-{self._count}-{secrets.token_hex(3)}"

    def settings(self, redis: Redis) -> dict[str, str]:
        """HARK_* settings (lower-case names) for a fresh database, bucket and queue."""
        database = self.postgres.create_database(self.new_name("hark").replace("-", "_"))
        bucket = self.s3.create_bucket(self.new_name("hark-audio"))
        return {
            "database_url": database,
            "storage_url": f"s3://{bucket}/audio",
            "queue_url": redis.url(),
            "s3_endpoint_url": self.s3.endpoint,
            "s3_region": "us-east-1",
            "s3_access_key_id": self.s3.access_key,
            "s3_secret_access_key": self.s3.password,
        }

    def stop(self) -> None:
        self.s3.stop()
        self.postgres.close()
