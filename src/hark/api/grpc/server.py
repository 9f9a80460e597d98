"""soniox.speech_service.SpeechService: the legacy Soniox RPCs over Hark's use cases: the
async ones, and Transcribe/TranscribeStream on the realtime sessions.

The API key travels in each request's `api_key` field (the first message of a stream);
failures leave as gRPC status codes with a readable message (CONTRACTS §2.4).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from pathlib import Path

import grpc
from pydantic import ValidationError

from hark.service import (
    Conflict,
    Hark,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RealtimeConfig,
    RealtimeSession,
    ServiceError,
    TooManyRequests,
    Unauthenticated,
)
from hark.service.audio import raw_as_wav, wav_header
from hark.service.auth import key_prefix
from hark.service.requests import CreateTemporaryKey

from . import messages
from . import speech_service_pb2 as pb

log = logging.getLogger(__name__)

SERVICE = "soniox.speech_service.SpeechService"
MAX_THREADS = 32  # RPCs served at once (each upload or result stream holds one)
# Quota refusals: a limit of the project, not a malformed request.
QUOTA_ERRORS = {"file_limit_exceeded", "transcription_limit_exceeded"}
DEFAULT_USAGE = "transcribe_websocket"

Code = grpc.StatusCode


def status_code(error: ServiceError) -> grpc.StatusCode:
    if isinstance(error, Unauthenticated):
        return Code.UNAUTHENTICATED
    if isinstance(error, PermissionDenied):
        return Code.PERMISSION_DENIED
    if isinstance(error, NotFound):
        return Code.NOT_FOUND
    if isinstance(error, Conflict):
        return Code.FAILED_PRECONDITION
    if (
        isinstance(error, PayloadTooLarge | TooManyRequests)
        or error.error_type in QUOTA_ERRORS
        or any(e.error_type == "too_large" for e in error.validation_errors)
    ):
        return Code.RESOURCE_EXHAUSTED
    return Code.INVALID_ARGUMENT


def _failure(exc: Exception) -> tuple[grpc.StatusCode, str]:
    if isinstance(exc, ServiceError):
        return status_code(exc), exc.message
    if isinstance(exc, grpc.RpcError):  # reading the request stream: the call is over
        return Code.CANCELLED, "The call ended before its request stream did."
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "request"
        return Code.INVALID_ARGUMENT, f"Invalid {where}: {first['msg']}"
    log.error("gRPC call failed", exc_info=exc)
    return Code.INTERNAL, "The server encountered an error. Please try again."


def _unary(method: Callable) -> Callable:
    """Failures become the RPC's status (abort happens outside the except block, since it
    raises an exception of its own)."""

    @functools.wraps(method)
    def handler(self: SpeechService, request, context: grpc.ServicerContext):
        try:
            return method(self, request, context)
        except Exception as exc:
            code, message = _failure(exc)
        context.abort(code, message)

    return handler


def _streaming(method: Callable) -> Callable:
    @functools.wraps(method)
    def handler(self: SpeechService, request, context: grpc.ServicerContext):
        try:
            yield from method(self, request, context)
            return
        except Exception as exc:
            code, message = _failure(exc)
        context.abort(code, message)

    return handler


class SpeechService:
    """The async RPCs and the live ones; `handler()` answers every other RPC UNIMPLEMENTED."""

    def __init__(self, hark: Hark) -> None:
        self.hark = hark

    def _project(self, api_key: str) -> str:
        if not api_key:
            raise Unauthenticated("Missing API key: set api_key (SONIOX_API_KEY).")
        return self.hark.keys.authenticate_key(api_key)

    def _first_message(self, requests: Iterator, context: grpc.ServicerContext):
        """The stream's first message (the one with the API key), or the call cancelled when
        it does not come within HARK_GRPC_AUTH_TIMEOUT: an idle stream holds one of the
        server's threads, and enough of them would stall every other call."""
        timeout = self.hark.settings.grpc_auth_timeout
        timer = threading.Timer(timeout, context.cancel)
        timer.daemon = True
        timer.start()
        try:
            first = next(requests, None)
        finally:
            timer.cancel()
        if not context.is_active():
            log.info("gRPC stream cancelled: no first message within %g s", timeout)
            raise Unauthenticated(f"No first message with an API key within {timeout:g} s.")
        return first

    @_unary
    def TranscribeAsync(self, requests: Iterator[pb.TranscribeAsyncRequest], context):
        first = self._first_message(requests, context)
        if first is None:
            raise InvalidRequest("The upload stream was empty.")
        project_id = self._project(first.api_key)
        request = messages.transcription_request(
            first.config, first.reference_name, self.hark.catalog
        )
        raw = messages.raw_format(first.config)
        upload = self.hark.async_files.open(project_id, request)
        try:
            convert = (lambda chunk: chunk) if raw is None else raw_as_wav(raw)
            if raw is not None:  # stored as a WAV file, which Hark decodes
                config = first.config
                header = wav_header(raw, config.sample_rate_hertz, config.num_audio_channels)
                self.hark.files.write(upload, header)
            before_audio = upload.writer.size
            eof = False
            for message in chain([first], requests):
                if eof and (message.audio or message.eof):
                    raise InvalidRequest("A message followed the one with eof=true.")
                if message.audio:
                    self.hark.files.write(upload, convert(message.audio))
                eof = message.eof
            if not context.is_active():
                raise InvalidRequest("The client cancelled the upload.")
            if first.enable_eof and not eof:
                # 1.6+ clients end with eof=true; a stream closed without it was cut short.
                raise InvalidRequest(
                    "The upload ended without a message with eof=true (enable_eof was set): "
                    "it is incomplete and was discarded."
                )
            if upload.writer.size == before_audio:
                raise InvalidRequest("The upload contained no audio.")
        except BaseException:
            upload.abort()
            raise
        # The reference name doubles as the file's name (it is the only name there is).
        job = self.hark.async_files.finish(upload, request, first.reference_name or "audio")
        return pb.TranscribeAsyncResponse(file_id=job.id)

    def _session(self, request) -> RealtimeSession:
        """A live session (the WebSocket's) for a Transcribe/TranscribeStream config."""
        project_id = self._project(request.api_key)
        if request.config.enable_separate_recognition_per_channel:
            raise InvalidRequest(
                "Separate recognition per channel is served by TranscribeAsync; Transcribe "
                "and TranscribeStream recognise the channels mixed."
            )
        config = RealtimeConfig(**messages.live_config(request.config, self.hark.catalog))
        self.hark.realtime.check(config)
        return self.hark.realtime.open(config, project_id)

    @_unary
    def Transcribe(self, request: pb.TranscribeRequest, context):
        """Short audio in one message: every word final (transcribe_file_short)."""
        session = self._session(request)
        try:
            message = session.transcribe(request.audio)
        finally:
            session.close()
        return pb.TranscribeResponse(
            result=messages.live_result(message, include_nonfinal=False),
            metadata=messages.live_metadata(),
        )

    @_streaming
    def TranscribeStream(self, requests: Iterator[pb.TranscribeStreamRequest], context):
        """Live: a response whenever words became final (and, with include_nonfinal, the
        current guess after them, replaced by the next response's)."""
        first = next(requests, None)
        if first is None:
            raise InvalidRequest("The request stream was empty.")
        include_nonfinal = first.config.include_nonfinal
        session = self._session(first)
        context.add_callback(session.close)  # a cancelled call frees its session at once
        try:
            for request in chain([first], requests):
                if request.audio and (message := session.audio(request.audio)) is not None:
                    response = self._live_response(message, include_nonfinal)
                    # Without non-final words, an update that made nothing final is no news.
                    if response.result.words or include_nonfinal:
                        yield response
            if not session.closed:
                yield self._live_response(session.finish(), include_nonfinal)
        finally:
            session.close()

    @staticmethod
    def _live_response(message: dict, include_nonfinal: bool) -> pb.TranscribeStreamResponse:
        return pb.TranscribeStreamResponse(
            result=messages.live_result(message, include_nonfinal),
            metadata=messages.live_metadata(),
        )

    @_unary
    def GetTranscribeAsyncStatus(self, request: pb.GetTranscribeAsyncStatusRequest, context):
        project_id = self._project(request.api_key)
        if request.file_id:
            jobs = [self.hark.async_files.get(project_id, request.file_id)]
        else:
            jobs = self.hark.async_files.list(project_id)
        return messages.status_response(jobs)

    @_streaming
    def GetTranscribeAsyncResult(self, request: pb.GetTranscribeAsyncResultRequest, context):
        project_id = self._project(request.api_key)
        job = self.hark.async_files.get(project_id, request.file_id)
        if job.status == "error":
            raise Conflict(f"Transcription of file {job.id} failed: {job.error_message}")
        if job.status != "completed":
            raise Conflict(
                f"File {job.id} is not transcribed yet (status {messages.STATUS[job.status]}); "
                "poll GetTranscribeAsyncStatus until it is COMPLETED."
            )
        transcript = self.hark.transcriptions.transcript(project_id, job.id)
        prefix = key_prefix(request.api_key)
        self.hark.audit.record("transcript.read", project_id, job.id, prefix, "grpc")
        yield from messages.result_responses(
            transcript.tokens, job.enable_separate_recognition_per_channel, job.audio_duration_ms
        )

    @_unary
    def DeleteTranscribeAsyncFile(self, request: pb.DeleteTranscribeAsyncFileRequest, context):
        project_id = self._project(request.api_key)
        try:
            self.hark.async_files.delete(project_id, request.file_id)
        except Conflict:
            raise Conflict(
                f"File {request.file_id} is being transcribed; delete it once it is COMPLETED "
                "or FAILED."
            ) from None
        return pb.DeleteTranscribeAsyncFileResponse()

    @_unary
    def CreateTemporaryApiKey(self, request: pb.CreateTemporaryApiKeyRequest, context):
        project_id = self._project(request.api_key)
        key = self.hark.keys.create_temporary(
            project_id,
            CreateTemporaryKey(
                usage_type=request.usage_type or DEFAULT_USAGE,
                expires_in_seconds=request.expires_in_s,
                client_reference_id=request.client_request_reference or None,
            ),
        )
        return pb.CreateTemporaryApiKeyResponse(
            key=key.api_key, expires_datetime=messages.timestamp(key.expires_at)
        )

    def handler(self) -> grpc.GenericRpcHandler:
        """Every RPC of the service: ours, and UNIMPLEMENTED with a readable message for the
        rest (TranscribeMeeting, speech contexts, speakers, storage, ...)."""
        handlers = {}
        for method in pb.DESCRIPTOR.services_by_name["SpeechService"].methods:
            behaviour = getattr(self, method.name, None) or _unimplemented(method.name)
            kind = {
                (False, False): grpc.unary_unary_rpc_method_handler,
                (False, True): grpc.unary_stream_rpc_method_handler,
                (True, False): grpc.stream_unary_rpc_method_handler,
                (True, True): grpc.stream_stream_rpc_method_handler,
            }[(method.client_streaming, method.server_streaming)]
            handlers[method.name] = kind(
                behaviour,
                request_deserializer=getattr(pb, method.input_type.name).FromString,
                response_serializer=getattr(pb, method.output_type.name).SerializeToString,
            )
        return grpc.method_handlers_generic_handler(SERVICE, handlers)


def _unimplemented(name: str) -> Callable:
    def behaviour(request, context: grpc.ServicerContext):
        context.abort(
            Code.UNIMPLEMENTED,
            f"Hark does not implement {name}. Of the legacy API it serves Transcribe, "
            "TranscribeStream, TranscribeAsync, GetTranscribeAsyncStatus, "
            "GetTranscribeAsyncResult, DeleteTranscribeAsyncFile and CreateTemporaryApiKey.",
        )

    return behaviour


def start_server(
    hark: Hark, host: str, port: int, tls: tuple[str, str] | None = None
) -> grpc.Server:
    """Serve the legacy API on host:port: plaintext (like the 1.x SDK's http:// hosts), or
    TLS with `tls` = (certificate file, private key file), both PEM."""
    server = grpc.server(
        ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="hark-grpc"),
        options=[
            ("grpc.max_receive_message_length", messages.MAX_MESSAGE),
            ("grpc.max_send_message_length", messages.MAX_MESSAGE),
        ],
        maximum_concurrent_rpcs=MAX_THREADS * 4,
    )
    server.add_generic_rpc_handlers((SpeechService(hark).handler(),))
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        if tls is None:
            bound = server.add_insecure_port(address)
        else:
            cert, key = (Path(path).read_bytes() for path in tls)
            credentials = grpc.ssl_server_credentials([(key, cert)])
            bound = server.add_secure_port(address, credentials)
    except RuntimeError as exc:
        raise RuntimeError(f"cannot serve gRPC on {address}: {exc}") from None
    if bound == 0:
        raise RuntimeError(f"cannot serve gRPC on {address}: the port is not available")
    server.start()
    return server
