"""The layer contracts (pyproject's [tool.importlinter]) hold, and would catch a shortcut."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_contracts_hold() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and result.stdout.count("KEPT") >= 5


def test_an_api_module_importing_the_engine_breaks_them(tmp_path: Path) -> None:
    shutil.copytree(REPO / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    soniox = tmp_path / "src" / "hark" / "api" / "soniox.py"
    soniox.write_text(soniox.read_text() + "\nfrom hark.engine import EngineConfig  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "hark.api.soniox -> hark.engine" in result.stdout
