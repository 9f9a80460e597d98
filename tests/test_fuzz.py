"""Schemathesis over Hark's whole OpenAPI document (every operation, a valid key, the
stateful phase following the documented links from create to get/delete/transcript), run in
a private network namespace (`unshare -n`, loopback only) so that the URLs it makes up
(audio_url, webhook_url, callbackUrl) can reach nothing. Zero 5xx, zero responses off the
schema, the error envelope on every 4xx."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO

KEY = "hark_fuzz_key_0123456789abcdef"
MAX_EXAMPLES = int(os.environ.get("HARK_FUZZ_EXAMPLES", "20"))  # per operation and phase
SCRIPT = """
set -e
ip link set lo up
"$PYTHON" -m hark.cli serve --port 18555 --data-dir "$DATA" > "$DATA.log" 2>&1 &
server=$!
for i in $(seq 1 240); do
  "$PYTHON" -c "import httpx; httpx.get('http://127.0.0.1:18555/healthz').raise_for_status()" \
    2>/dev/null && break
  sleep 0.5
done
status=0
"$PYTHON" -m schemathesis.cli run http://127.0.0.1:18555/openapi.json \
  -H "Authorization: Bearer $HARK_API_KEY" --max-examples "$EXAMPLES" --seed 19 \
  --checks not_a_server_error,response_schema_conformance,error_envelope \
  --phases examples,coverage,fuzzing,stateful --request-timeout 30 \
  --report-json-path "$REPORT" > "$DATA.fuzz.log" 2>&1 || status=$?
kill $server
wait $server || true
exit $status
"""


def private_network_available() -> bool:
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    probe = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not private_network_available(), reason="needs `unshare -n` (root)")
def test_fuzzing_the_whole_api_finds_nothing(tmp_path: Path):
    report = tmp_path / "report.json"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HARK_", "AWS_"))},
        "PYTHON": sys.executable,
        "DATA": str(tmp_path / "data"),
        "REPORT": str(report),
        "EXAMPLES": str(MAX_EXAMPLES),
        "HARK_API_KEY": KEY,
        "HARK_WORKERS": "0",  # jobs stay queued: the API, not the engine, is under test
        "SCHEMATHESIS_HOOKS": "fuzz_checks",
        "PYTHONPATH": os.pathsep.join(
            [str(REPO / "tests"), os.environ.get("PYTHONPATH", str(REPO / "src"))]
        ),
    }
    # From the temporary directory: schemathesis keeps a cache in its working directory.
    command = ["unshare", "-n", "sh", "-c", SCRIPT]
    run = subprocess.run(command, env=env, cwd=tmp_path, timeout=600)
    log = Path(env["DATA"] + ".fuzz.log").read_text(errors="replace")
    result = json.loads(report.read_text())
    print(f"schemathesis: {result['test_cases']} ; failures: {result['failures']}")
    assert result["operations"]["tested"] == result["operations"]["selected"] > 0, log[-3000:]
    assert result["failures"] == [], log[-6000:]
    assert result["errors"] == [], log[-6000:]
    assert run.returncode == 0, log[-6000:]
