"""Uploading 200 MB through both clients keeps the test process's memory flat."""

from __future__ import annotations

import pytest

from support.sdk_harness import open_client

SIZE = 200 * 1024 * 1024


def memory_kib() -> dict[str, int]:
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.wav"
    chunk = bytes(range(256)) * 4096  # 1 MiB
    with path.open("wb") as f:
        for _ in range(SIZE // len(chunk)):
            f.write(chunk)
    return path


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_200_mb_upload_streams_from_disk(server, big_file, kind):
    client, close = open_client(kind, api_key=server.api_key, api_base_url=server.base_url)
    try:
        client.models.list()  # connection pool and lazy imports warmed up
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM (peak RSS) to the current RSS
        before = memory_kib()
        uploaded = client.files.upload(big_file)
        after = memory_kib()
        assert uploaded.size == SIZE and uploaded.filename == "big.wav"
        growth_mib = (after["VmHWM"] - before["VmRSS"]) / 1024
        print(f"{kind}: peak RSS grew {growth_mib:.1f} MiB uploading {SIZE >> 20} MiB")
        assert growth_mib < 40, f"peak RSS grew {growth_mib:.0f} MiB during a 200 MiB upload"
        client.files.delete(uploaded.id)
    finally:
        close()
