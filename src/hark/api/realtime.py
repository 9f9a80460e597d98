"""WebSocket /transcribe-websocket: Soniox's realtime protocol over Hark's batch engine."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from hark.engine import EngineError
from hark.service import RealtimeConfig, RealtimeSession, ServiceError
from hark.service.realtime import USAGE

log = logging.getLogger(__name__)

router = APIRouter()

SUBPROTOCOL = "soniox-api-key"  # browsers: new WebSocket(url, ["soniox-api-key", key])
IDLE_TIMEOUT = 30.0  # longest wait for the next message (the SDK keeps alive every 5 s)


class SessionError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _handshake_key(ws: WebSocket) -> tuple[str | None, str | None]:
    """The key sent with the handshake, and the subprotocol to accept for it."""
    scheme, _, token = (ws.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), None
    protocols = ws.scope.get("subprotocols") or []
    if len(protocols) >= 2 and protocols[0] == SUBPROTOCOL:
        return protocols[1], SUBPROTOCOL
    return None, None


def _config(text: str) -> RealtimeConfig:
    try:
        return RealtimeConfig.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise SessionError(400, f"Invalid config: {where}: {first['msg']}") from None


@router.websocket("/transcribe-websocket")
async def transcribe_websocket(ws: WebSocket) -> None:
    hark = ws.app.state.hark
    handshake_key, subprotocol = _handshake_key(ws)
    await ws.accept(subprotocol=subprotocol)
    session: RealtimeSession | None = None
    try:
        if handshake_key:
            # Before reading anything: an unknown caller's frames (audio included) are never
            # taken. (Checked without spending a single-use key; that happens below.)
            await run_in_threadpool(hark.keys.check_for, handshake_key, USAGE)
        config = _config(await asyncio.wait_for(ws.receive_text(), IDLE_TIMEOUT))
        if handshake_key and config.api_key:
            raise SessionError(400, "Send the API key in one place only, not in both.")
        hark.realtime.check(config)
        key = await run_in_threadpool(
            hark.keys.authenticate_for, handshake_key or config.api_key, USAGE
        )
        ends = time.monotonic() + key.max_session_seconds if key.max_session_seconds else None
        session = hark.realtime.open(config, key.project_id)
        while True:
            wait = IDLE_TIMEOUT if ends is None else min(IDLE_TIMEOUT, ends - time.monotonic())
            try:
                message = await asyncio.wait_for(ws.receive(), max(wait, 0.001))
            except TimeoutError:
                if ends is not None and time.monotonic() >= ends:
                    raise SessionError(
                        408, "The session exceeded max_session_duration_seconds."
                    ) from None
                raise SessionError(408, f"No message for {IDLE_TIMEOUT:g} s.") from None
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await run_in_threadpool(session.write, message["bytes"])
            elif message.get("text") == "":
                break  # end of audio
            elif _control_type(message.get("text")) not in ("keepalive", "finalize"):
                # (finalize needs no action: everything is final at the end anyway)
                raise SessionError(400, "Unknown control message.")
        tokens, duration_ms = await run_in_threadpool(session.finish)
        progress = {"final_audio_proc_ms": duration_ms, "total_audio_proc_ms": duration_ms}
        await ws.send_json({"tokens": tokens, **progress})
        await ws.send_json({"tokens": [], **progress, "finished": True})
        await ws.close()
    except WebSocketDisconnect:
        return
    except (SessionError, ServiceError, EngineError, TimeoutError, ValueError) as exc:
        code, message = _describe(exc)
        await ws.send_json({"error_code": code, "error_message": message})
        await ws.close()
    finally:
        if session is not None:
            session.close()


def _control_type(text: str | None) -> str | None:
    try:
        payload = json.loads(text or "")
    except ValueError:
        return None
    return payload.get("type") if isinstance(payload, dict) else None


def _describe(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, SessionError):
        return exc.code, exc.message
    if isinstance(exc, ServiceError):
        return exc.status_code, exc.message
    if isinstance(exc, EngineError):
        return 400, exc.message
    if isinstance(exc, TimeoutError):
        return 408, f"No config message arrived within {IDLE_TIMEOUT:g} s."
    return 400, f"Malformed message: {exc}"
