"""The Invox Medical asynchronous transcription API (CONTRACTS §3) under /api: token, pre-signed
URL, upload, and the result by polling (the callback is sent by the webhook machinery).
Errors here take Invox's shapes (see errors.py)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool

from hark.service import InvalidRequest, InvoxPresign
from hark.service.invox import Caller
from hark.service.requests import InvoxTranscriptionQuery

from .deps import HarkDep
from .invox_schemas import InvoxPresignOut, InvoxTokenOut, InvoxTranscriptionOut
from .upload import receive_put

router = APIRouter(prefix="/api", tags=["invox"])

Authorization = Annotated[str | None, Header(include_in_schema=False)]


async def get_caller(hark: HarkDep, authorization: Authorization = None) -> Caller:
    return await run_in_threadpool(hark.invox.authenticate, authorization)


CallerDep = Annotated[Caller, Depends(get_caller)]


@router.post("/v1/auth/token", response_model=InvoxTokenOut)
@router.post("/auth/token", response_model=InvoxTokenOut, include_in_schema=False)
async def issue_token(
    request: Request, response: Response, hark: HarkDep, authorization: Authorization = None
) -> InvoxTokenOut:
    """Exchange an app id + API key for a Bearer access token (valid 2 hours by default):
    `Authorization: Basic base64(appId:apiKey)`, or `{"credentials": "base64(appId:apiKey)"}`
    as a JSON body. Other bodies (e.g. OAuth2's `grant_type=client_credentials` form) are
    ignored."""
    credentials = None
    if "json" in request.headers.get("content-type", "") and (raw := await request.body()):
        try:
            payload = json.loads(raw)
        except ValueError:
            raise InvalidRequest("The request body is not valid JSON.") from None
        if isinstance(payload, dict) and isinstance(payload.get("credentials"), str):
            credentials = payload["credentials"]
    token = await run_in_threadpool(hark.invox.issue_token, authorization, credentials)
    response.headers["Cache-Control"] = "no-store"
    return InvoxTokenOut.of(token.token, token.expires_in)


@router.post("/v1/generate-presigned-url", response_model=InvoxPresignOut)
def generate_presigned_url(
    body: Annotated[InvoxPresign, Body()], request: Request, hark: HarkDep, caller: CallerDep
) -> InvoxPresignOut:
    """A URL to PUT one recording to (no bearer; `Content-Type` = `mimeType`). Processing
    starts when it arrives; the result goes to `callbackUrl`, if given, and to
    get-transcription."""
    url = hark.invox.generate(caller, body, str(request.base_url))
    return InvoxPresignOut(presignedUrl=url.url, requestId=url.upload.id)


@router.put("/v1/upload/{request_id}", include_in_schema=False)
async def upload_audio(request_id: str, request: Request, hark: HarkDep) -> Response:
    """The target of a presignedUrl: 200 once the audio is stored and its job queued."""
    receiving = await receive_put(request, hark.uploads, "invox", request_id)
    await run_in_threadpool(hark.invox.finish_upload, receiving)
    return Response(status_code=200)


@router.post(
    "/v1/get-transcription", response_model=InvoxTranscriptionOut, response_model_exclude_none=True
)
@router.post(
    "/get-transcription",
    response_model=InvoxTranscriptionOut,
    response_model_exclude_none=True,
    include_in_schema=False,
)
def get_transcription(
    body: Annotated[InvoxTranscriptionQuery, Body()], hark: HarkDep, caller: CallerDep
) -> dict:
    """PENDING, COMPLETED (with sentence segments in seconds and WebVTT) or ERROR (with
    `errorMessage`)."""
    result = hark.invox.result(caller, body.requestId)
    if result.get("status") == "COMPLETED":
        hark.audit.record(
            "transcript.read", caller.project_id, body.requestId, caller.app_id, "invox"
        )
    return result
