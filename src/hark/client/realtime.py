"""`client.realtime.stt`: live recognition over WS /transcribe-websocket, with the surface of
the soniox SDK's realtime sessions (connect, send_bytes, finalize, pause/resume,
receive_events). Uses the `websockets` package; nothing of the server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import HarkError, HarkValidationError

if TYPE_CHECKING:
    from ._client import BaseClient

TOKEN_TEXT_FIN = "<fin>"
TOKEN_TEXT_END = "<end>"
KEEP_ALIVE_INTERVAL_SEC = 5.0
RAW_FORMATS = (
    *(f"pcm_{kind}{bits}{end}" for kind in "su" for bits in (16, 24, 32) for end in ("le", "be")),
    *(f"pcm_f{bits}{end}" for bits in (32, 64) for end in ("le", "be")),
    *("pcm_s8", "pcm_u8", "mulaw", "alaw"),
)


class HarkRealtimeError(HarkError):
    """The session could not be opened or used, or the server ended it with an error."""

    def __init__(self, message: str, error_code: int | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class RealtimeConfig(BaseModel):
    """The first message of a session (unknown fields pass through to the server)."""

    model_config = ConfigDict(extra="allow")

    model: str = "stt-rt-v5"
    audio_format: str = "auto"
    num_channels: int | None = None
    sample_rate: int | None = None
    language_hints: list[str] | None = None
    language_hints_strict: bool | None = None
    context: Any = None
    enable_speaker_diarization: bool | None = None
    enable_language_identification: bool | None = None
    enable_endpoint_detection: bool | None = None
    max_endpoint_delay_ms: int | None = Field(default=None, ge=500, le=3000)
    endpoint_sensitivity: float | None = Field(default=None, ge=-1, le=1)
    endpoint_latency_adjustment_level: int | None = Field(default=None, ge=0, le=3)
    translation: Any = None
    client_reference_id: str | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _raw_needs_layout(self) -> RealtimeConfig:
        if self.audio_format in RAW_FORMATS and not (self.sample_rate and self.num_channels):
            raise ValueError(
                f"audio_format={self.audio_format!r} has no header and needs sample_rate and "
                "num_channels"
            )
        return self


class RealtimeToken(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str
    start_ms: int | None = None
    end_ms: int | None = None
    confidence: float | None = None
    language: str | None = None
    speaker: str | None = None
    is_final: bool = False


class RealtimeEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    tokens: list[RealtimeToken] = []
    final_audio_proc_ms: int | None = None
    total_audio_proc_ms: int | None = None
    finished: bool = False
    error_code: int | None = None
    error_message: str | None = None
    error_type: str | None = None
    request_id: str | None = None


def checked_config(config: RealtimeConfig | dict[str, Any]) -> RealtimeConfig:
    """The config, validated as the server would (HarkValidationError if not)."""
    if isinstance(config, RealtimeConfig):
        return config
    try:
        return RealtimeConfig(**config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise HarkValidationError(f"{where}: {message}" if where else message) from None


def _config_message(config: RealtimeConfig | dict[str, Any]) -> str:
    return json.dumps(checked_config(config).model_dump(exclude_none=True))


_CONTROL = {"finish": "", "keepalive": '{"type": "keepalive"}', "finalize": '{"type": "finalize"}'}


class RealtimeSession:
    """A synchronous session; use it as a context manager (`with ... as session`)."""

    def __init__(
        self, url: str, api_key: str, config: RealtimeConfig | dict[str, Any], timeout: float
    ):
        self._url, self._api_key, self._timeout = url, api_key, timeout
        self._message = _config_message(config)
        self._ws: Any = None
        self._keepalive: threading.Event | None = None
        self.last_message: RealtimeEvent | None = None

    def __enter__(self) -> RealtimeSession:
        from websockets.sync.client import connect

        try:
            self._ws = connect(
                self._url,
                additional_headers={"Authorization": f"Bearer {self._api_key}"},
                open_timeout=self._timeout,
            )
            self._ws.send(self._message)
        except Exception as exc:
            raise HarkRealtimeError(f"Could not open the realtime session: {exc}") from exc
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType
    ) -> None:
        self.close()

    @property
    def paused(self) -> bool:
        return self._keepalive is not None

    def _send(self, frame: str | bytes) -> None:
        if self._ws is None:
            raise HarkRealtimeError("The realtime session is not connected.")
        try:
            self._ws.send(frame)
        except Exception as exc:
            raise HarkRealtimeError(f"Could not send to the realtime session: {exc}") from exc

    def send_byte_chunk(self, chunk: bytes) -> None:
        """Send audio (dropped while paused)."""
        if not self.paused:
            self._send(chunk)

    def send_bytes(self, chunks: bytes | Iterable[bytes], *, finish: bool = True) -> None:
        if isinstance(chunks, bytes):
            self.send_byte_chunk(chunks)
            return
        for chunk in chunks:
            self.send_byte_chunk(chunk)
        if finish:
            self.finish()

    def send_control_message(self, control_type: str) -> None:
        self._send(_CONTROL[getattr(control_type, "value", control_type)])

    def finish(self) -> None:
        """End of audio: the server makes everything final, then closes."""
        self._send("")

    def keep_alive(self) -> None:
        self._send(_CONTROL["keepalive"])

    def finalize(self) -> None:
        """Make everything sent so far final; a <fin> token answers."""
        self._send(_CONTROL["finalize"])

    def pause(self, *, finalize: bool = True) -> None:
        """Finalize, then keep the session alive without audio until resume()."""
        if self.paused:
            return
        if finalize:
            self.finalize()
        stop = self._keepalive = threading.Event()

        def loop() -> None:
            while not stop.wait(KEEP_ALIVE_INTERVAL_SEC):
                try:
                    self.keep_alive()
                except HarkRealtimeError:
                    return

        threading.Thread(target=loop, name="hark-keepalive", daemon=True).start()

    def resume(self) -> None:
        if self._keepalive is not None:
            self._keepalive.set()
            self._keepalive = None

    def receive_event(self) -> RealtimeEvent | None:
        """The next message, or None once the server closed the session."""
        from websockets.exceptions import ConnectionClosed

        if self._ws is None:
            raise HarkRealtimeError("The realtime session is not connected.")
        try:
            raw = self._ws.recv()
        except ConnectionClosed:
            return None
        self.last_message = RealtimeEvent.model_validate(json.loads(raw))
        return self.last_message

    def receive_events(self) -> Iterator[RealtimeEvent]:
        while (event := self.receive_event()) is not None:
            yield event

    def handle_events(self, handler: Callable[[RealtimeEvent], None]) -> None:
        for event in self.receive_events():
            handler(event)

    def close(self) -> None:
        self.resume()
        if self._ws is not None:
            try:
                self._ws.close()
            finally:
                self._ws = None


class AsyncRealtimeSession:
    """An asyncio session; use it as `async with ... as session`."""

    def __init__(
        self, url: str, api_key: str, config: RealtimeConfig | dict[str, Any], timeout: float
    ):
        self._url, self._api_key, self._timeout = url, api_key, timeout
        self._message = _config_message(config)
        self._ws: Any = None
        self._keepalive: asyncio.Task[None] | None = None
        self.last_message: RealtimeEvent | None = None

    async def __aenter__(self) -> AsyncRealtimeSession:
        from websockets.asyncio.client import connect

        try:
            self._ws = await connect(
                self._url,
                additional_headers={"Authorization": f"Bearer {self._api_key}"},
                open_timeout=self._timeout,
            )
            await self._ws.send(self._message)
        except Exception as exc:
            raise HarkRealtimeError(f"Could not open the realtime session: {exc}") from exc
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType
    ) -> None:
        await self.close()

    @property
    def paused(self) -> bool:
        return self._keepalive is not None

    async def _send(self, frame: str | bytes) -> None:
        if self._ws is None:
            raise HarkRealtimeError("The realtime session is not connected.")
        try:
            await self._ws.send(frame)
        except Exception as exc:
            raise HarkRealtimeError(f"Could not send to the realtime session: {exc}") from exc

    async def send_byte_chunk(self, chunk: bytes) -> None:
        if not self.paused:
            await self._send(chunk)

    async def send_bytes(
        self, chunks: bytes | Iterable[bytes] | AsyncIterator[bytes], *, finish: bool = True
    ) -> None:
        if isinstance(chunks, bytes):
            await self.send_byte_chunk(chunks)
            return
        if hasattr(chunks, "__aiter__"):
            async for chunk in chunks:
                await self.send_byte_chunk(chunk)
        else:
            for chunk in chunks:
                await self.send_byte_chunk(chunk)
        if finish:
            await self.finish()

    async def send_control_message(self, control_type: str) -> None:
        await self._send(_CONTROL[getattr(control_type, "value", control_type)])

    async def finish(self) -> None:
        await self._send("")

    async def keep_alive(self) -> None:
        await self._send(_CONTROL["keepalive"])

    async def finalize(self) -> None:
        await self._send(_CONTROL["finalize"])

    async def pause(self, *, finalize: bool = True) -> None:
        if self.paused:
            return
        if finalize:
            await self.finalize()

        async def loop() -> None:
            while True:
                await asyncio.sleep(KEEP_ALIVE_INTERVAL_SEC)
                await self.keep_alive()

        self._keepalive = asyncio.create_task(loop())

    async def resume(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None

    async def receive_event(self) -> RealtimeEvent | None:
        from websockets.exceptions import ConnectionClosed

        if self._ws is None:
            raise HarkRealtimeError("The realtime session is not connected.")
        try:
            raw = await self._ws.recv()
        except ConnectionClosed:
            return None
        self.last_message = RealtimeEvent.model_validate(json.loads(raw))
        return self.last_message

    async def receive_events(self) -> AsyncIterator[RealtimeEvent]:
        while (event := await self.receive_event()) is not None:
            yield event

    async def handle_events(
        self, handler: Callable[[RealtimeEvent], Awaitable[None] | None]
    ) -> None:
        async for event in self.receive_events():
            result = handler(event)
            if asyncio.iscoroutine(result):
                await result

    async def close(self) -> None:
        await self.resume()
        if self._ws is not None:
            try:
                await self._ws.close()
            finally:
                self._ws = None


class _SttAPI:
    def __init__(self, client: BaseClient, asynchronous: bool) -> None:
        self._client = client
        self._async = asynchronous

    def connect(
        self,
        *,
        config: RealtimeConfig | dict[str, Any] | None = None,
        api_key: str | None = None,
        connect_timeout_sec: float = 10.0,
    ) -> RealtimeSession | AsyncRealtimeSession:
        """A session (not yet open: enter it with `with` / `async with`)."""
        session = AsyncRealtimeSession if self._async else RealtimeSession
        return session(
            self._client.websocket_base_url,
            api_key or self._client.api_key,
            config if config is not None else RealtimeConfig(),
            connect_timeout_sec,
        )


class RealtimeAPI:
    """`client.realtime`: `stt.connect(config=...)`."""

    def __init__(self, client: BaseClient, asynchronous: bool) -> None:
        self.stt = _SttAPI(client, asynchronous)
