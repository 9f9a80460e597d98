"""Schemathesis checks of Hark's own (loaded with SCHEMATHESIS_HOOKS=fuzz_checks by
test_fuzz.py): every 4xx carries the documented error envelope of its API (Soniox's, Invox's
under /api/, OpenAI's on the OpenAI door's routes)."""

from __future__ import annotations

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
