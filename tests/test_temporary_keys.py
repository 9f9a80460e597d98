"""Temporary API keys: made with a project key, good only for transcribe_websocket, and only
until they expire or (single-use) are spent. Exercised with the official SDK."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime

import pytest
from soniox import SonioxClient
from soniox.types import RealtimeSTTConfig
from websockets.sync.client import connect

from support import JFK, assert_error, eventually, normalize, send_frames


def sdk(server, api_key: str | None = None) -> SonioxClient:
    return SonioxClient(
        api_key=api_key or server.api_key,
        api_base_url=server.base_url,
        websocket_base_url=f"ws://127.0.0.1:{server.port}/transcribe-websocket",
    )


def realtime_text(server, api_key: str, **config) -> str:
    """Stream jfk.flac through the SDK's realtime client; return the final text."""
    client = sdk(server, api_key)
    settings = RealtimeSTTConfig(model="stt-rt-v5", **config)
    with client.realtime.stt.connect(config=settings) as session:
        data = JFK.read_bytes()
        session.send_bytes(iter([data[i : i + 32_000] for i in range(0, len(data), 32_000)]))
        events = list(session.receive_events())
    assert not [e.error_message for e in events if e.error_code]
    assert events[-1].finished
    return "".join(t.text for e in events for t in e.tokens if t.is_final)


def raw_session(server, first_message: dict, **kwargs) -> list[dict]:
    url = f"ws://127.0.0.1:{server.port}/transcribe-websocket"
    with connect(url, **kwargs) as ws:
        send_frames(ws, json.dumps(first_message), "")  # "": the end of audio
        return [json.loads(m) for m in ws]


def test_temporary_key_works_for_its_usage(server):
    created = sdk(server).auth.create_temporary_api_key(expires_in_seconds=60)
    assert created.api_key.startswith("hark_tmp_")
    left = (created.expires_at - datetime.now(UTC)).total_seconds()
    assert 50 < left <= 61
    text = normalize(realtime_text(server, created.api_key))
    assert "ask not what your country can do for you" in text
    # Not single-use: it keeps working until it expires.
    assert "ask not" in normalize(realtime_text(server, created.api_key))


def test_temporary_key_never_authorizes_rest(server):
    temporary = sdk(server).auth.create_temporary_api_key(expires_in_seconds=60).api_key
    with server.client(temporary) as client:
        for response in (client.get("/files"), client.post("/auth/temporary-api-key", json={})):
            error = assert_error(response, 403, "permission_denied")
            assert "only authorize transcribe_websocket" in error["message"]


def test_single_use_key_is_spent_by_its_first_session(server):
    key = sdk(server).auth.create_temporary_api_key(expires_in_seconds=60, single_use=True)
    assert "ask not" in normalize(realtime_text(server, key.api_key))
    messages = raw_session(
        server,
        {"model": "stt-rt-v5"},
        additional_headers={"Authorization": f"Bearer {key.api_key}"},
    )
    assert [(m["error_code"], m["error_message"]) for m in messages] == [
        (401, "This single-use temporary API key has already been used.")
    ]


def test_expired_key_is_refused_and_purged(tmp_path):
    from support import start_server

    srv = start_server(
        tmp_path / "hark", api_key="hark_test_purge_key_0001", workers="0", sweep_interval="0.5"
    )
    try:
        key = sdk(srv).auth.create_temporary_api_key(expires_in_seconds=1).api_key
        time.sleep(1.2)
        messages = raw_session(
            srv, {"model": "stt-rt-v5"}, additional_headers={"Authorization": f"Bearer {key}"}
        )
        assert messages[-1]["error_code"] == 401
        assert messages[-1]["error_message"] == "This temporary API key has expired." or (
            messages[-1]["error_message"].startswith("Incorrect API key provided.")
        )  # (or already purged by the sweep)

        # Swept every 0.5 s: gone after a sweep or more (a loaded machine may delay one).
        def purged() -> bool:
            with sqlite3.connect(srv.data_dir / "hark.db") as db:
                left = db.execute("SELECT count(*) FROM api_keys WHERE usage_type IS NOT NULL")
                return left.fetchone()[0] == 0

        eventually(purged, 30, "the expired key was never purged")
    finally:
        srv.stop()


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"usage_type": "transcribe_websocket", "expires_in_seconds": 0}, "expires_in_seconds"),
        ({"usage_type": "transcribe_websocket", "expires_in_seconds": 3601}, "expires_in_seconds"),
        ({"usage_type": "bogus", "expires_in_seconds": 60}, "usage_type"),
        ({"usage_type": "tts_rt", "expires_in_seconds": 60}, "usage_type"),
    ],
)
def test_temporary_key_requests_are_validated(api, body, location):
    error = assert_error(api.post("/auth/temporary-api-key", json=body), 400)
    assert error["validation_errors"][0]["location"] == f"body.{location}"


def test_websocket_accepts_every_documented_way_to_send_the_key(server):
    key = server.api_key
    config = {"model": "stt-rt-v5", "audio_format": "pcm_s16le", "sample_rate": 16000}
    config["num_channels"] = 1
    # The key in the config message (SDK <= 2.5), and the browser subprotocol.
    assert raw_session(server, {**config, "api_key": key})[-1]["finished"] is True
    by_protocol = raw_session(server, config, subprotocols=["soniox-api-key", key])
    assert by_protocol[-1]["finished"] is True
    # Both at once is refused, as Soniox does; no key at all too.
    both = raw_session(
        server, {**config, "api_key": key}, additional_headers={"Authorization": f"Bearer {key}"}
    )
    assert both[-1]["error_code"] == 400
    assert raw_session(server, config)[-1]["error_code"] == 401


def test_bad_messages_end_the_session_with_an_error(server):
    auth = {"Authorization": f"Bearer {server.api_key}"}
    url = f"ws://127.0.0.1:{server.port}/transcribe-websocket"
    for control in ("5", "[]", '{"type": "shout"}'):
        with connect(url, additional_headers=auth) as ws:
            ws.send(json.dumps({"model": "stt-rt-v5"}))
            ws.send(control)
            messages = [json.loads(m) for m in ws]
        assert [(m["error_code"], m["error_message"]) for m in messages] == [
            (400, "Unknown control message.")
        ]
    (bad_model,) = raw_session(server, {"model": "nope"}, additional_headers=auth)
    assert bad_model["error_code"] == 400 and "Unknown model" in bad_model["error_message"]


def test_a_rejected_config_does_not_spend_a_single_use_key(server):
    key = sdk(server).auth.create_temporary_api_key(expires_in_seconds=60, single_use=True)
    auth = {"Authorization": f"Bearer {key.api_key}"}
    (refused,) = raw_session(
        server, {"model": "stt-rt-v5", "audio_format": "opus"}, additional_headers=auth
    )
    assert refused["error_code"] == 400
    assert "ask not" in normalize(realtime_text(server, key.api_key))
