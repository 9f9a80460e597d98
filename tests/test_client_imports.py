"""`hark.client` (and the CLI's client commands) load nothing of the server: checked in fresh
interpreters through sys.modules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SERVER_PACKAGES = {
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "multipart",
    "python_multipart",
    "pydantic_settings",
    "faster_whisper",
    "ctranslate2",
    "onnxruntime",
    "av",
    "numpy",
}
SERVER_MODULES = ("hark.service", "hark.api", "hark.store", "hark.jobs", "hark.engine")
SERVER_MODULES += ("hark.blobs", "hark.settings")


def server_modules(modules: list[str]) -> list[str]:
    return sorted(
        m for m in modules if m.split(".")[0] in SERVER_PACKAGES or m.startswith(SERVER_MODULES)
    )


def modules_after(code: str) -> list[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import hark.client",
        "from hark.client import AsyncClient, Client\n"
        "c = Client(api_key='k'); c.files; c.stt; c.models; c.auth; c.webhooks; c.close()\n"
        "AsyncClient(api_key='k')",
        "import hark.subtitles",
        "import typer, hark.cli; typer.main.get_command(hark.cli.app)",
    ],
)
def test_client_side_imports_are_server_free(code):
    modules = modules_after(code)
    assert "hark" in modules
    assert server_modules(modules) == []


def test_the_check_would_notice():
    assert "hark.api" in server_modules(modules_after("import hark.api"))
