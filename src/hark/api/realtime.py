"""WebSocket /transcribe-websocket: Soniox's realtime protocol (CONTRACTS §1.9, §6), live.

One task receives frames into a queue (so a slow decode never stalls the socket, and a
client that vanishes frees its session at once); the session loop takes every audio frame
waiting, decodes them together, and answers with final and non-final tokens.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from hark.service import EngineError, RealtimeConfig, RealtimeSession, ServiceError
from hark.service.realtime import USAGE

from .middleware import new_request_id

log = logging.getLogger(__name__)

router = APIRouter()

SUBPROTOCOL = "soniox-api-key"  # browsers: new WebSocket(url, ["soniox-api-key", key])
GONE = object()  # the client disconnected


class SessionError(Exception):
    def __init__(self, code: int, message: str, error_type: str = "invalid_request") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.error_type = error_type


def _handshake_key(ws: WebSocket) -> tuple[str | None, str | None]:
    """The key sent with the handshake, and the subprotocol to accept for it."""
    scheme, _, token = (ws.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), None
    protocols = ws.scope.get("subprotocols") or []
    if len(protocols) >= 2 and protocols[0] == SUBPROTOCOL:
        return protocols[1], SUBPROTOCOL
    return None, None


def _config(message: dict) -> RealtimeConfig:
    text = message.get("text")
    if text is None:
        raise SessionError(400, "The first message must be the JSON config, not audio.")
    try:
        return RealtimeConfig.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise SessionError(400, f"Invalid config: {where}: {first['msg']}") from None


@router.websocket("/transcribe-websocket")
async def transcribe_websocket(ws: WebSocket) -> None:
    hark = ws.app.state.hark
    idle = hark.realtime.idle_timeout
    request_id = new_request_id()
    handshake_key, subprotocol = _handshake_key(ws)
    await ws.accept(subprotocol=subprotocol)
    session: RealtimeSession | None = None
    receiver: asyncio.Task | None = None
    try:
        if handshake_key:
            # Before reading anything: an unknown caller's frames (audio included) are never
            # taken. (Checked without spending a single-use key; that happens below.)
            await run_in_threadpool(hark.keys.check_for, handshake_key, USAGE)
        try:
            first = await asyncio.wait_for(ws.receive(), idle)
        except TimeoutError:
            raise SessionError(408, f"No config message arrived within {idle:g} s.") from None
        if first["type"] == "websocket.disconnect":
            return
        config = _config(first)
        if handshake_key and config.api_key:
            raise SessionError(400, "Send the API key in one place only, not in both.")
        hark.realtime.check(config)
        # Authenticated before any audio is read.
        key = await run_in_threadpool(
            hark.keys.authenticate_for, handshake_key or config.api_key, USAGE
        )
        ends = time.monotonic() + key.max_session_seconds if key.max_session_seconds else None
        session = await run_in_threadpool(hark.realtime.open, config, key.project_id)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        receiver = asyncio.create_task(_receive(ws, queue, session, idle, ends))
        if await _serve(ws, session, queue):
            await ws.close()
    except WebSocketDisconnect:
        return
    except (SessionError, ServiceError, EngineError) as exc:
        await _send_error(ws, exc, request_id)
    except Exception as exc:
        log.error("realtime session failed", exc_info=exc)
        error = SessionError(500, "The server encountered an error.", "internal_error")
        await _send_error(ws, error, request_id)
    finally:
        if receiver is not None:
            receiver.cancel()
        if session is not None:
            session.close()


async def _receive(
    ws: WebSocket,
    queue: asyncio.Queue,
    session: RealtimeSession,
    idle: float,
    ends: float | None,
) -> None:
    """Frames into `queue` until the client finishes, leaves or falls silent."""
    while True:
        wait = idle if ends is None else min(idle, ends - time.monotonic())
        try:
            message = await asyncio.wait_for(ws.receive(), max(wait, 0.001))
        except TimeoutError:
            if ends is not None and time.monotonic() >= ends:
                error = SessionError(408, "The session exceeded max_session_duration_seconds.")
            else:
                error = SessionError(408, f"No message for {idle:g} s: the session timed out.")
            await queue.put(error)
            return
        except (WebSocketDisconnect, RuntimeError):
            message = {"type": "websocket.disconnect"}
        if message["type"] == "websocket.disconnect":
            session.close()  # free it now, even while a decode is still running
            await queue.put(GONE)
            return
        data = message.get("bytes")
        await queue.put(data if data is not None else message.get("text") or "")
        if data is None and not message.get("text"):
            return  # "" ends the audio: nothing more is read


async def _serve(ws: WebSocket, session: RealtimeSession, queue: asyncio.Queue) -> bool:
    """Answer the queued frames; True once finished (False: the client left)."""
    pending: Any = None
    while True:
        item = pending if pending is not None else await queue.get()
        pending = None
        if item is GONE:
            return False
        if isinstance(item, Exception):
            raise item
        if isinstance(item, bytes):
            chunks = [item]
            while not queue.empty():  # take all audio waiting: one decode for all of it
                following = queue.get_nowait()
                if not isinstance(following, bytes):
                    pending = following
                    break
                chunks.append(following)
            reply = await run_in_threadpool(session.audio, b"".join(chunks))
        elif item == "":
            reply = await run_in_threadpool(session.finish)
            await ws.send_json(reply)
            await ws.send_json({**reply, "tokens": [], "finished": True})
            return True
        else:
            control = _control_type(item)
            if control == "finalize":
                reply = await run_in_threadpool(session.finalize)
            elif control == "keepalive":
                reply = None
            else:
                raise SessionError(400, "Unknown control message.")
        if reply is not None and not session.closed:
            await ws.send_json(reply)


def _control_type(text: str) -> str | None:
    try:
        payload = json.loads(text)
    except ValueError:
        raise SessionError(400, "A text message must be JSON (or empty to finish).") from None
    return payload.get("type") if isinstance(payload, dict) else None


async def _send_error(ws: WebSocket, exc: Exception, request_id: str) -> None:
    code, message, error_type = _describe(exc)
    try:
        await ws.send_json(
            {
                "error_code": code,
                "error_message": message,
                "error_type": error_type,
                "request_id": request_id,
            }
        )
        await ws.close()
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client is gone already


def _describe(exc: Exception) -> tuple[int, str, str]:
    if isinstance(exc, SessionError):
        return exc.code, exc.message, exc.error_type
    if isinstance(exc, ServiceError):
        return exc.status_code, exc.message, exc.error_type
    if isinstance(exc, EngineError):  # the audio's fault, unless the engine crashed on it
        return 500 if exc.error_type == "engine_crashed" else 400, exc.message, exc.error_type
    return 500, "The server encountered an error.", "internal_error"
