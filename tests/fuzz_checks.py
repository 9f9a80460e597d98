"""Schemathesis hooks and checks of Hark's own (loaded with SCHEMATHESIS_HOOKS=fuzz_checks by
test_fuzz.py): every 4xx carries the documented error envelope of its API (Soniox's, Invox's
under /api/, OpenAI's on the OpenAI door's routes); each API gets its own credentials; and
one link that only schemathesis can follow."""

from __future__ import annotations

import os

import httpx
import schemathesis

from hark.api.errors import is_openai_route

SONIOX_ENVELOPE = {"status_code", "error_type", "message", "validation_errors", "request_id"}
INVOX_ENVELOPE = {"message", "messsage"}  # Invox's own spelling, both sent (CONTRACTS §3.6)
OPENAI_ERROR = {"message", "type", "param", "code"}  # under "error" (CONTRACTS §5)


@schemathesis.check
def error_envelope(ctx, response, case) -> None:
    if not 400 <= response.status_code < 500:
        return
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"a {response.status_code} whose body is not JSON") from None
    if is_openai_route(case.path):
        error = body.get("error") if isinstance(body, dict) else None
        missing = OPENAI_ERROR - set(error if isinstance(error, dict) else ())
        if missing:
            raise AssertionError(f"a {response.status_code} without OpenAI's error: {missing}")
        return
    invox = case.path.startswith("/api/")
    expected = INVOX_ENVELOPE if invox else SONIOX_ENVELOPE
    missing = expected - set(body if isinstance(body, dict) else ())
    if missing:
        raise AssertionError(f"a {response.status_code} without the envelope: no {sorted(missing)}")
    if not invox and body["status_code"] != response.status_code:
        raise AssertionError("the envelope's status_code is not the response's")


@schemathesis.auth(retry_on=[])
class Credentials:
    """Hark's key (HARK_API_KEY) on Hark's routes; on Invox's (under /api/), the Invox
    credential (HARK_FUZZ_INVOX, base64 of app id:API key) for the token route and an access
    token got with it for the others, so that Invox's routes are fuzzed past their 401."""

    def get(self, case, ctx) -> dict[str, str]:
        basic = f"Basic {os.environ['HARK_FUZZ_INVOX']}"
        url = os.environ["HARK_FUZZ_URL"] + "/api/v1/auth/token"
        token = httpx.post(url, headers={"Authorization": basic}).raise_for_status()
        return {
            "hark": f"Bearer {os.environ['HARK_API_KEY']}",
            "invox_token": basic,
            "invox": f"Bearer {token.json()['accessToken']}",
        }

    def set(self, case, data: dict[str, str], ctx) -> None:
        if not case.path.startswith("/api/"):
            which = "hark"
        else:
            which = "invox_token" if case.path.endswith("/auth/token") else "invox"
        case.headers = {**(case.headers or {}), "Authorization": data[which]}


@schemathesis.hook
def before_load_schema(ctx, raw_schema: dict) -> None:
    """Links only schemathesis can follow (so not in Hark's document): an upload URL's PUT,
    whose token is inside `upload_url` (taken out by schemathesis's regex extension of runtime
    expressions); and, from an uploaded file, an upload URL for another of the same name,
    because schemathesis takes `client_reference_id` for a resource nothing makes and so
    never starts a scenario with POST /v1/files/upload-url."""
    paths = raw_schema["paths"]
    created = paths["/v1/files/upload-url"]["post"]["responses"]["200"]
    created.setdefault("links", {})["UploadToUrl"] = {
        "operationRef": "#/paths/~1v1~1uploads~1{file_id}/put",
        "parameters": {
            "path.file_id": "$response.body#/file_id",
            "query.token": "$response.body#/upload_url#regex:[?&]token=([^&]+)",
        },
    }
    uploaded = paths["/v1/files"]["post"]["responses"]["201"]
    uploaded.setdefault("links", {})["UploadUrlForAnother"] = {
        "operationRef": "#/paths/~1v1~1files~1upload-url/post",
        "requestBody": {"filename": "$response.body#/filename"},
    }
