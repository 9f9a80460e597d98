"""The Python client page's examples (docs/client.md) run as written (against the test
server, with meeting.mp3 standing for a real recording)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from support import JFK, REPO


def examples() -> list[str]:
    page = (REPO / "docs" / "client.md").read_text()
    return re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)


def test_readme_examples_run(server, tmp_path):
    blocks = examples()
    assert len(blocks) == 2 and "AsyncClient" in blocks[1]
    (tmp_path / "hark-data").mkdir()
    (tmp_path / "hark-data" / "api_key").write_text(server.api_key + "\n")
    shutil.copy(JFK, tmp_path / "meeting.mp3")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    env |= {"HARK_API_KEY": server.api_key, "HARK_API_BASE_URL": server.base_url}
    for code in blocks:
        # The sync example reads the key file and uses the default URL: point that at the server.
        code = code.replace("Client(api_key=", f"Client(api_base_url={server.base_url!r}, api_key=")
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert "fellow Americans" in result.stdout
    srt = (tmp_path / "meeting.srt").read_text()
    assert srt.startswith("1\n00:00:00,000 --> ")
