"""The documentation site: it builds with no warnings (strict: broken links and anchors fail),
and the configuration page documents every setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hark.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def test_site_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "configuration" / "index.html").is_file()


def test_every_setting_is_documented() -> None:
    page = (REPO / "docs" / "configuration.md").read_text()
    names = [f"HARK_{name.upper()}" for name in Settings.model_fields]
    missing = [name for name in names if name not in page]
    assert not missing, f"settings missing from docs/configuration.md: {missing}"


def test_readme_stays_short() -> None:
    assert len((REPO / "README.md").read_bytes()) < 10_000
