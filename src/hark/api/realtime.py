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
CONFIG_TIMEOUT = 30.0


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
        config = _config(await asyncio.wait_for(ws.receive_text(), CONFIG_TIMEOUT))
        if handshake_key and config.api_key:
            raise SessionError(400, "Send the API key in one place only, not in both.")
        key = await run_in_threadpool(
            hark.keys.authenticate_for, handshake_key or config.api_key, USAGE
        )
        deadline = time.monotonic() + key.max_session_seconds if key.max_session_seconds else None
        session = hark.realtime.open(config)
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if deadline and time.monotonic() > deadline:
                raise SessionError(408, "The session exceeded max_session_duration_seconds.")
            if message.get("bytes") is not None:
                await run_in_threadpool(session.write, message["bytes"])
            elif message.get("text") == "":
                break  # end of audio
            elif json.loads(message.get("text") or "{}").get("type") not in (
                "keepalive",
                "finalize",  # everything is final at the end anyway
            ):
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


def _describe(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, SessionError):
        return exc.code, exc.message
    if isinstance(exc, ServiceError):
        return exc.status_code, exc.message
    if isinstance(exc, EngineError):
        return 400, exc.message
    if isinstance(exc, TimeoutError):
        return 408, "No config message arrived."
    return 400, f"Malformed message: {exc}"
