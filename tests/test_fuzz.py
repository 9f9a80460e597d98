"""Schemathesis over Hark's whole OpenAPI document (every operation, a valid key, the
stateful phase following the documented links from each create to the routes that take its
id, starting from the creates' documented examples; it prints which links reached a 2xx with
a real id), run in
a private network namespace (`unshare -n`, loopback only) so that the URLs it makes up
(audio_url, webhook_url, callbackUrl) can reach nothing. Zero 5xx, zero responses off the
schema, the error envelope on every 4xx."""

from __future__ import annotations

import base64
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
# Stateful scenarios (each a chain of up to 10 calls following the links): cheap next to the
# other phases, and what reaches the routes that take an id with real ids.
SCENARIOS = int(os.environ.get("HARK_FUZZ_SCENARIOS", "150"))
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
  --max-examples "$EXAMPLES" --seed 19 \
  --checks not_a_server_error,response_schema_conformance,error_envelope \
  --phases examples,coverage,fuzzing,stateful --request-timeout 30 \
  --report-json-path "$REPORT" --report-ndjson-path "$EVENTS" > "$DATA.fuzz.log" 2>&1 \
  || status=$?
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
        "EVENTS": str(tmp_path / "events.ndjson"),
        "EXAMPLES": str(MAX_EXAMPLES),
        "HARK_API_KEY": KEY,
        "HARK_FUZZ_URL": "http://127.0.0.1:18555",
        "HARK_WORKERS": "0",  # jobs stay queued: the API, not the engine, is under test
        "SCHEMATHESIS_HOOKS": "fuzz_checks",
        # Absolute: the server and schemathesis run in the temporary directory, where a
        # relative PYTHONPATH (`PYTHONPATH=src`) would find nothing, and another checkout's
        # hark (the editable install) would be fuzzed instead of this one.
        "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO / "src")]),
    }
    # An Invox credential, so that Invox's routes are fuzzed past their 401 (fuzz_checks.py).
    made = subprocess.run(
        [sys.executable, "-m", "hark.cli", "keys", "create", "--invox", "--json",
         "--project", "default", "--data-dir", env["DATA"]],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    invox = json.loads(made.stdout)
    pair = f"{invox['app_id']}:{invox['api_key']}".encode()
    env["HARK_FUZZ_INVOX"] = base64.b64encode(pair).decode()
    # Schemathesis's own link inference is off: its guesses mostly pair unrelated routes (list
    # transcriptions -> delete a file) and crowd out the documented links in the scenarios.
    (tmp_path / "schemathesis.toml").write_text(
        f"[phases.stateful]\nmax-steps = 10\n\n[phases.stateful.inference]\nalgorithms = []\n\n"
        f"[phases.stateful.generation]\nmax-examples = {SCENARIOS}\n"
    )
    # From the temporary directory: schemathesis keeps a cache in its working directory, and
    # reads its configuration there.
    command = ["unshare", "-n", "sh", "-c", SCRIPT]
    run = subprocess.run(command, env=env, cwd=tmp_path, timeout=600)
    log = Path(env["DATA"] + ".fuzz.log").read_text(errors="replace")
    result = json.loads(report.read_text())
    links = followed_links(tmp_path / "events.ndjson")
    reached = sorted(name for name, statuses in links.items() if any(s < 300 for s in statuses))
    print(f"schemathesis: {result['test_cases']} ; failures: {result['failures']}")
    print(f"stateful: {len(links)} links followed, {len(reached)} reached a 2xx: {reached}")
    assert result["operations"]["tested"] == result["operations"]["selected"] > 0, log[-3000:]
    assert result["failures"] == [], log[-6000:]
    assert result["errors"] == [], log[-6000:]
    assert run.returncode == 0, log[-6000:]
    # The links carry real ids: a file's and a transcription's on to the routes taking them.
    # Which links a run follows varies (the server's ids and timing steer the scenarios), so
    # this asks for some link of each create, and most links, not for particular ones.
    for create in ("POST /v1/files -> ", "POST /v1/transcriptions -> "):
        assert any(name.startswith(create) for name in reached), links
    assert len(reached) * 2 >= len(links), links


def followed_links(events: Path) -> dict[str, list[int]]:
    """Each link the stateful phase followed ("source -> name"), with the status of every
    response to the calls that used it (from schemathesis's NDJSON event log)."""
    followed: dict[str, list[int]] = {}
    for line in events.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if not finished or finished["phase"] != "stateful":
            continue
        recorder = finished["recorder"]
        for case_id, case in recorder.get("cases", {}).items():
            transition = case.get("transition")
            response = (recorder["interactions"].get(case_id) or {}).get("response")
            if transition and case.get("is_transition_applied") and response:
                # "POST /v1/files -> [201] GetFile -> GET /v1/files/{file_id}"
                source, link, _ = transition["id"].split(" -> ")
                name = f"{source} -> {link.partition('] ')[2]}"
                followed.setdefault(name, []).append(response["status_code"])
    return followed
