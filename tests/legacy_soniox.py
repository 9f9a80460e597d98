"""Drives the real legacy `soniox` 1.x SDK (installed apart from the 2.x one, see
test_legacy_grpc.py) against a Hark gRPC port: `python legacy_soniox.py '<ops>'` with
PYTHONPATH naming the SDK, SONIOX_API_HOST and SONIOX_API_KEY set.

<ops> is a JSON list of [operation, arguments]; a string argument "@N" stands for the
result of operation N. Prints a JSON list with, per operation, {"ok": result} or
{"error": {"code": "NOT_FOUND", "details": "..."}} (a grpc error, or "ASSERTION" when the
SDK itself refused what it got).
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

import grpc
from soniox import speech_service_pb2 as pb
from soniox.speech_service import SpeechClient, SpeechContext, SpeechContextEntry
from soniox.transcribe_file import (
    transcribe_file_async,
    transcribe_file_short,
    transcribe_file_stream,
)
from soniox.transcribe_live import transcribe_stream

from support.proto_schema import schema

FINISHED = ("COMPLETED", "FAILED")


def status(s) -> dict:
    return {
        "file_id": s.file_id,
        "reference_name": s.reference_name,
        "status": s.status,
        "created_time": s.created_time.ToDatetime().isoformat(),
        "error_message": s.error_message,
    }


def result(r) -> dict:
    words = [
        {
            "text": w.text,
            "start_ms": w.start_ms,
            "duration_ms": w.duration_ms,
            "is_final": w.is_final,
            "speaker": w.speaker,
            "confidence": w.confidence,
        }
        for w in r.words
    ]
    return {
        "channel": r.channel,
        "text": " ".join(w.text for w in r.words),  # as the SDK's examples join them
        "joined": "".join(w.text for w in r.words),  # as the legacy async guide does
        "words": words,
        "final_proc_time_ms": r.final_proc_time_ms,
        "speakers": [s.speaker for s in r.speakers],
    }


def results(value) -> dict:
    if isinstance(value, list):
        return {"per_channel": True, "results": [result(r) for r in value]}
    return {"per_channel": False, "results": [result(value)]}


def upload(client, path, speech_context=None, **config) -> str:
    if speech_context is not None:
        entries = [SpeechContextEntry(phrases=phrases, boost=10) for phrases in speech_context]
        config["speech_context"] = SpeechContext(entries=entries)
    return transcribe_file_async(path, client, **config)


def wait(client, file_id, timeout=180) -> dict:
    """The examples' polling loop (faster: every 0.2 s instead of 2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        current = client.GetTranscribeAsyncStatus(file_id)
        if current.status in FINISHED or time.monotonic() > deadline:
            return status(current)
        time.sleep(0.2)


class ReplayStub:
    """Serves recorded GetTranscribeAsyncResult responses to the SDK's own merging code."""

    def __init__(self, encoded: list[str]) -> None:
        self.responses = [
            pb.GetTranscribeAsyncResultResponse.FromString(base64.b64decode(r)) for r in encoded
        ]

    def GetTranscribeAsyncResult(self, request):
        return iter(self.responses)


def merge(client, responses) -> dict:
    client._client = ReplayStub(responses)
    return results(client.GetTranscribeAsyncResult("replayed"))


def live(client, path, chunk_seconds=0.1, **config) -> dict:
    """transcribe_stream (the microphone helper's engine) fed raw 16 kHz PCM at real-time
    pace: each response's words, and whether all audio had been sent when it arrived."""
    data = Path(path).read_bytes()
    size = int(32_000 * chunk_seconds)
    sent_all = False

    def paced():
        nonlocal sent_all
        for start in range(0, len(data), size):
            yield data[start : start + size]
            time.sleep(chunk_seconds)
        sent_all = True

    responses = []
    for r in transcribe_stream(paced(), client, **config):
        responses.append({**result(r), "sent_all": sent_all})
    return {"responses": responses}


def descriptor(client) -> dict:
    return schema(pb.DESCRIPTOR)


OPERATIONS = {
    "upload": upload,
    "wait": wait,
    "status": lambda client, file_id: status(client.GetTranscribeAsyncStatus(file_id)),
    "list": lambda client: [status(s) for s in client.GetTranscribeAsyncAllFilesStatus()],
    "result": lambda client, file_id: results(client.GetTranscribeAsyncResult(file_id)),
    "delete": lambda client, file_id: client.DeleteTranscribeAsyncFile(file_id),
    "temporary_key": lambda client, usage_type, expires_in_s: {
        "key": (response := client.CreateTemporaryApiKey(usage_type, expires_in_s)).key,
        "expires": response.expires_datetime.ToDatetime().isoformat(),
    },
    "merge": merge,
    "short": lambda client, path, **config: result(transcribe_file_short(path, client, **config)),
    "stream": lambda client, path, **config: result(transcribe_file_stream(path, client, **config)),
    "live": live,
    "descriptor": descriptor,
}


def resolve(value, done: list):
    if isinstance(value, str) and value.startswith("@"):
        return done[int(value[1:])].get("ok")
    return value


def main() -> None:
    done: list[dict] = []
    with SpeechClient() as client:
        for name, arguments in json.loads(sys.argv[1]):
            arguments = {k: resolve(v, done) for k, v in arguments.items()}
            try:
                done.append({"ok": OPERATIONS[name](client, **arguments)})
            except grpc.RpcError as exc:
                done.append({"error": {"code": exc.code().name, "details": exc.details()}})
            except AssertionError as exc:
                done.append({"error": {"code": "ASSERTION", "details": repr(exc)}})
    print(json.dumps(done))


if __name__ == "__main__":
    main()
