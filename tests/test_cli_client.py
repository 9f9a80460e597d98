"""`hark transcribe`, `hark files …`, `hark jobs …` end to end against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jiwer
import pytest

from support import HOTWORDS, JFK, free_port, normalize
from support.subtitle_parsing import check_cues, parse_srt, parse_vtt
from test_client_imports import server_modules

JFK_TEXT = normalize(JFK.with_suffix(".txt").read_text())


@pytest.fixture(scope="module")
def cli(server):
    """Run `hark` in a subprocess with this module's own project (key and URL in the env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    env["HARK_API_KEY"] = server.new_key("cli")
    env["HARK_API_BASE_URL"] = server.base_url

    def run(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "hark.cli", *args],
            env={**env, **env_overrides},
            capture_output=True,
            text=True,
            timeout=300,
        )

    run.key = env["HARK_API_KEY"]
    return run


def spoken(cues) -> str:
    return " ".join(line for cue in cues for line in cue.lines)


def test_transcribe_to_srt_and_vtt(cli, server, tmp_path):
    out = tmp_path / "jfk.srt"
    result = cli(
        "transcribe", str(JFK), "--format", "srt", "--output", str(out),
        "--api-key", cli.key, "--base-url", server.base_url, HARK_API_KEY="",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    progress = [line for line in result.stderr.splitlines() if line.startswith("jfk.flac: [")]
    assert progress and progress[-1].endswith("100% completed")
    cues = parse_srt(out.read_text())
    check_cues(cues)
    assert cues[-1].end_ms <= 12_000
    assert jiwer.wer(JFK_TEXT, normalize(spoken(cues))) <= 0.10

    vtt = cli("transcribe", str(JFK), "--format", "vtt", "--language", "en", "--diarize")
    assert vtt.returncode == 0, vtt.stderr
    vtt_cues = parse_vtt(vtt.stdout)
    check_cues(vtt_cues)
    assert [(c.start_ms, c.end_ms, c.lines) for c in vtt_cues] == [
        (c.start_ms, c.end_ms, c.lines) for c in cues
    ]
    # Without --keep nothing is left behind on the server.
    assert cli("jobs", "list").stdout.splitlines()[1:] == []
    assert cli("files", "list").stdout.splitlines()[1:] == []


def test_several_inputs_json_and_management_commands(cli, tmp_path):
    out = tmp_path / "out"
    result = cli(
        "transcribe", str(JFK), str(HOTWORDS), "--format", "json", "-o", str(out), "--keep"
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["hotwords.json", "jfk.json"]
    transcript = json.loads((out / "jfk.json").read_text())
    assert jiwer.wer(JFK_TEXT, normalize(transcript["text"])) <= 0.10
    assert transcript["tokens"][0]["start_ms"] == 0

    text = cli("transcribe", str(HOTWORDS), "--keep")  # text is the default format
    assert text.returncode == 0 and text.stdout.count("\n") == 1 and "folder" in text.stdout

    jobs = cli("jobs", "list").stdout.splitlines()
    assert jobs[0].split() == ["ID", "STATUS", "PROGRESS", "MODEL", "FILENAME", "CREATED"]
    assert len(jobs) == 4 and all(" completed " in line for line in jobs[1:])
    job_id = jobs[1].split()[0]
    shown = json.loads(cli("jobs", "get", job_id).stdout)
    assert shown["id"] == job_id and shown["progress"] == 1.0
    files = cli("files", "list").stdout.splitlines()
    assert files[0].split() == ["ID", "FILENAME", "SIZE", "CREATED"] and len(files) == 4

    assert cli("jobs", "delete", job_id).stdout == f"deleted {job_id}\n"
    assert cli("files", "delete", shown["file_id"]).returncode == 0
    assert len(cli("jobs", "list").stdout.splitlines()) == 3
    for line in cli("jobs", "list").stdout.splitlines()[1:]:
        assert cli("jobs", "delete", line.split()[0]).returncode == 0
    remaining = [line.split()[0] for line in cli("files", "list").stdout.splitlines()[1:]]
    assert cli("files", "delete", *remaining).returncode == 0
    assert cli("files", "list").stdout.splitlines()[1:] == []


def test_errors_exit_non_zero_with_a_message(cli, tmp_path):
    missing = cli("transcribe", str(tmp_path / "nope.wav"))
    assert missing.returncode == 1 and "error: No such file" in missing.stderr

    wrong_key = cli("jobs", "list", "--api-key", "hark_wrong")
    assert wrong_key.returncode == 1 and "Incorrect API key provided" in wrong_key.stderr
    unknown = cli("jobs", "get", "00000000-0000-0000-0000-000000000000")
    assert unknown.returncode == 1 and "not found" in unknown.stderr

    bad_language = cli("transcribe", str(JFK), "--language", "en,xx")
    assert bad_language.returncode == 1 and "'xx'" in bad_language.stderr
    too_short = cli("transcribe", str(JFK), "--translate-to", "e")  # refused before sending
    assert too_short.returncode == 1 and "error: translation.target_language" in too_short.stderr
    assert "Traceback" not in too_short.stderr

    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"not audio" * 100)
    both = cli("transcribe", str(garbage), str(JFK), "-o", str(tmp_path / "out"))
    assert both.returncode == 1 and "garbage.wav: transcription failed" in both.stderr
    assert (tmp_path / "out" / "jfk.txt").read_text().strip()

    down = cli("files", "list", "--base-url", f"http://127.0.0.1:{free_port()}/v1")
    assert down.returncode == 1 and "error:" in down.stderr and "Traceback" not in down.stderr


def test_client_commands_import_nothing_of_the_server(cli, server):
    script = (
        "import json, sys\n"
        "from hark.cli import main\n"
        f"assert main(['jobs', 'list', '--api-key', {cli.key!r}, '--base-url', "
        f"{server.base_url!r}]) == 0\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert server_modules(json.loads(out.stdout.splitlines()[-1])) == []
