"""The Invox Medical asynchronous transcription API (CONTRACTS §3) as a surface of Hark:
credentials and access tokens, pre-signed uploads that start a job, status and results.

Each request is a PresignedUpload of kind "invox" whose id is the Invox requestId; its
upload becomes an ordinary file and transcription of the credential's project.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hark import invox
from hark.store import (
    File,
    PartnerCallback,
    PresignedUpload,
    Store,
    Transcription,
    new_id,
    utcnow,
)

from .auth import hash_key
from .errors import InvalidRequest, NotFound, Unauthenticated
from .requests import CreateTranscription, InvoxPresign
from .transcriptions import TranscriptionService
from .uploads import Receiving, UploadService, UploadUrl

APP_ID_PREFIX = "app_"
API_KEY_PREFIX = "invox_key_"


@dataclass(frozen=True)
class InvoxCredentials:
    app_id: str
    api_key: str
    project: str


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


@dataclass(frozen=True)
class Caller:
    """Who an access token speaks for."""

    project_id: str
    app_id: str


def callback_body(callback: PartnerCallback) -> str:
    """An Invox request's signed callback (CONTRACTS §3.4), for the store to record with the
    job's end: the transcript's sentence segments when it completed, none when it failed."""
    transcription = invox.segments(callback.tokens) if callback.status == "completed" else []
    created_ms = int(utcnow().timestamp() * 1000)
    return invox.callback_body(
        callback.request_id, transcription, created_ms, callback.app_id, callback.secret
    )


def transcription_not_found() -> NotFound:
    return NotFound("Transcription not found", error_type="transcriptionNotFound")


def _credentials(authorization: str | None, body: str | None) -> tuple[str, str]:
    """(app id, api key) from `Basic base64(appId:apiKey)` or the same base64 in a body."""
    scheme, _, value = (authorization or "").partition(" ")
    encoded = value.strip() if scheme.lower() == "basic" else (body or "").strip()
    if not encoded:
        raise Unauthenticated(
            "Send your credentials as 'Authorization: Basic base64(appId:apiKey)' or as "
            '{"credentials": "base64(appId:apiKey)"}.'
        )
    try:
        app_id, colon, api_key = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        app_id, colon, api_key = "", "", ""
    if not (app_id and colon and api_key):
        raise Unauthenticated("Malformed credentials: expected base64 of 'appId:apiKey'.")
    return app_id, api_key


class InvoxService:
    def __init__(
        self,
        store: Store,
        uploads: UploadService,
        transcriptions: TranscriptionService,
        token_ttl_seconds: float,
        diarization: bool,
    ) -> None:
        self.store = store
        self.uploads = uploads
        self.transcriptions = transcriptions
        self.token_ttl = timedelta(seconds=token_ttl_seconds)
        self.diarization = diarization

    # -- credentials and tokens ----------------------------------------------------------

    def create_credentials(self, project: str) -> InvoxCredentials:
        """A new app id + API key for `project` (the key is shown only now). The project's
        callback secret is made with its first credential."""
        app_id = APP_ID_PREFIX + secrets.token_hex(8)
        api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        self.store.add_invox_credential(
            project, app_id, hash_key(api_key), new_secret=secrets.token_urlsafe(32)
        )
        return InvoxCredentials(app_id, api_key, project)

    def issue_token(self, authorization: str | None, credentials: str | None) -> AccessToken:
        """Exchange an app id + API key for a Bearer access token."""
        app_id, api_key = _credentials(authorization, credentials)
        credential = self.store.invox_credential(app_id)
        if credential is None or not hmac.compare_digest(credential.key_hash, hash_key(api_key)):
            raise Unauthenticated("Invalid credentials.")
        token = secrets.token_urlsafe(32)
        self.store.add_invox_token(hash_key(token), credential.id, utcnow() + self.token_ttl)
        return AccessToken(token, int(self.token_ttl.total_seconds()))

    def authenticate(self, authorization: str | None) -> Caller:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Missing access token: send 'Authorization: Bearer <token>'.")
        caller = self.store.invox_caller(hash_key(token.strip()))
        if caller is None:
            raise Unauthenticated("Invalid or expired access token.")
        return Caller(*caller)

    # -- requests ------------------------------------------------------------------------

    def generate(self, caller: Caller, body: InvoxPresign, base_url: str) -> UploadUrl:
        """A pre-signed URL for one audio upload of `body.mimeType`; the requestId is the
        upload's id."""
        extension = invox.extension(body.mimeType)
        if extension is None:
            raise InvalidRequest(
                f"Unsupported mimeType {body.mimeType.strip()!r}; use one of "
                f"{', '.join(invox.LISTED_MIME_TYPES)} (or audio/mpeg, audio/mp4, ...)."
            )
        if body.callbackUrl is not None:
            self.transcriptions.check_url(caller.project_id, body.callbackUrl, "callbackUrl")
        request_id = new_id()
        upload = PresignedUpload(
            id=request_id,
            kind="invox",
            filename=request_id + extension,
            content_type=invox.normalize_mime(body.mimeType),
            client_reference_id=request_id,  # of the file and the job, to find them by
            callback_url=body.callbackUrl,
            app_id=caller.app_id,
        )
        return self.uploads.open_slot(caller.project_id, upload, base_url)

    def finish_upload(self, receiving: Receiving) -> Transcription:
        """Record the uploaded audio and start transcribing it."""
        slot = receiving.slot

        def job(file: File) -> Transcription:
            request = CreateTranscription(
                model=self.transcriptions.catalog.model_id,
                file_id=file.id,
                enable_speaker_diarization=self.diarization,
                webhook_url=slot.callback_url,
                client_reference_id=slot.client_reference_id,
            )
            return self.transcriptions.prepare(slot.project_id, request, file)

        _, started = self.uploads.finish(receiving, job)
        assert started is not None
        self.transcriptions.dispatch(started.id)
        return started

    def result(self, caller: Caller, request_id: str) -> dict[str, Any]:
        """get-transcription's body: status, and once completed the sentence segments and
        WebVTT; `errorMessage` on error."""
        request = self.store.get_upload(caller.project_id, request_id, "invox")
        if request is None:
            raise transcription_not_found()
        status, error, tokens, names = "PENDING", None, None, None
        if request.transcription_id is None:
            if request.state == "refused":
                status, error = "ERROR", request.error_message
            elif request.state == "pending" and request.expires_at <= utcnow():
                status, error = "ERROR", "The upload URL expired before any audio was uploaded."
        else:
            job = self.store.get_transcription(caller.project_id, request.transcription_id)
            if job is None:
                raise transcription_not_found()
            status, error = invox.STATUSES[job.status], job.error_message
            if job.status == "completed":
                transcript = self.store.get_transcript(job.id)
                tokens = transcript.tokens if transcript is not None else []
                names = transcript.speaker_names if transcript is not None else None
        body: dict[str, Any] = {
            "transcription": invox.segments(tokens, names) if tokens is not None else [],
            "processingStatus": status,
            "transcriptionStatus": status,  # the docs' example uses this name (§3.5)
        }
        if tokens is not None:
            body["vttTranscription"] = invox.vtt(tokens, names)
        if status == "ERROR":
            body["errorMessage"] = error or "The transcription failed."
        return body
