"""The async client mirrors the sync one exactly, and is typed honestly."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from hark.client import AsyncClient, Client

REPO = Path(__file__).resolve().parents[1]
NAMESPACES = ("files", "stt", "models", "auth")


def _public_methods(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_async_namespace_mirrors_sync(namespace: str) -> None:
    sync_cls = inspect.signature(getattr(Client, namespace).func).return_annotation
    async_cls = inspect.signature(getattr(AsyncClient, namespace).func).return_annotation
    sync_methods = _public_methods(eval(sync_cls, vars(sys.modules[Client.__module__])))
    async_methods = _public_methods(eval(async_cls, vars(sys.modules[AsyncClient.__module__])))
    assert sync_methods.keys() == async_methods.keys()
    for name, method in sync_methods.items():
        other = async_methods[name]
        assert inspect.signature(method).parameters == inspect.signature(other).parameters, name
        # Everything but the lazy iterators is a coroutine function on the async side.
        assert inspect.iscoroutinefunction(other) == (name != "list_all"), name


def test_clients_share_request() -> None:
    assert (
        inspect.signature(Client.request).parameters
        == inspect.signature(AsyncClient.request).parameters
    )
    assert inspect.iscoroutinefunction(AsyncClient.request)


def test_strict_type_check_of_client_and_async_usage() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "src/hark/client",
            "tests/typing/async_usage.py",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
