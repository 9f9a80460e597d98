"""Error envelope, validation, models and documentation endpoints."""

from __future__ import annotations

import http.client
import time

import httpx
import pytest

from support import JFK, assert_error, create_job, upload, wait_for

pytestmark = pytest.mark.backends("embedded", "scaled")


def test_unknown_route_and_method_use_the_envelope(api):
    assert_error(api.get("/nope"), 404, "not_found")
    assert_error(api.put("/files"), 405, "method_not_allowed")
    assert_error(api.patch("/transcriptions/abc"), 405)


def test_every_response_has_a_request_id(api):
    a, b = api.get("/files"), api.get("/files")
    assert a.headers["x-request-id"] != b.headers["x-request-id"]


def test_malformed_json_is_a_400(api):
    response = api.post(
        "/transcriptions", content=b"{not json", headers={"content-type": "application/json"}
    )
    body = assert_error(response, 400, "invalid_request")
    assert "not valid JSON" in body["message"]


@pytest.mark.parametrize(
    ("body", "location", "needle"),
    [
        ({}, "body.model", "Field required"),
        ({"model": "x" * 33, "file_id": "f"}, "body.model", "at most 32"),
        ({"model": "stt-async-v5"}, "body", "exactly one of file_id and audio_url"),
        (
            {"model": "stt-async-v5", "file_id": "a", "audio_url": "https://x/a.mp3"},
            "body",
            "exactly one",
        ),
        ({"model": "stt-async-v5", "audio_url": "ftp://x/a.mp3"}, "body.audio_url", "pattern"),
        (
            {"model": "stt-async-v5", "file_id": "a", "language_hints": ["english!"]},
            "body.language_hints.0",
            "",
        ),
        (
            {"model": "stt-async-v5", "file_id": "a", "webhook_url": "not a url"},
            "body.webhook_url",
            "",
        ),
        (
            {"model": "stt-async-v5", "file_id": "a", "translation": {"type": "one_way"}},
            "body.translation",
            "target_language",
        ),
        (
            {"model": "stt-async-v5", "file_id": "a", "translation": {"type": "sideways"}},
            "body.translation.type",
            "",
        ),
        (
            {"model": "stt-async-v5", "file_id": "a", "enable_speaker_diarization": "maybe"},
            "body.enable_speaker_diarization",
            "",
        ),
        (
            {"model": "stt-async-v5", "file_id": "a", "client_reference_id": "r" * 257},
            "body.client_reference_id",
            "",
        ),
        (
            {
                "model": "stt-async-v5",
                "file_id": "a",
                "webhook_url": "http://h/x",
                "webhook_auth_header_name": "X-A",
            },
            "body",
            "go together",
        ),
    ],
)
def test_create_validation_errors_are_precise(api, body, location, needle):
    error = assert_error(api.post("/transcriptions", json=body), 400, "invalid_request")
    locations = [e["location"] for e in error["validation_errors"]]
    assert location in locations, error
    assert needle in error["message"], error


def test_unknown_model_names_the_valid_ones(api):
    file = upload(api, JFK)
    error = assert_error(
        api.post("/transcriptions", json={"model": "gpt-9", "file_id": file["id"]}), 400
    )
    assert "gpt-9" in error["message"] and "stt-async-v5" in error["message"]
    assert error["validation_errors"][0]["location"] == "body.model"


def test_unknown_file_id_is_rejected(api):
    for file_id in ["00000000-0000-0000-0000-000000000000", "not-a-uuid"]:
        error = assert_error(
            api.post("/transcriptions", json={"model": "stt-async-v5", "file_id": file_id}),
            400,
            "file_not_found",
        )
        assert error["validation_errors"][0]["location"] == "body.file_id"


def test_unavailable_translation_is_refused_clearly(api):
    file = upload(api, JFK)
    body = {
        "model": "stt-async-v5",
        "file_id": file["id"],
        "translation": {"type": "one_way", "target_language": "fr"},
    }
    error = assert_error(api.post("/transcriptions", json=body), 400, "translation_unavailable")
    assert "'fr'" in error["message"] and "available: es (from en)" in error["message"]
    assert error["validation_errors"][0]["location"] == "body.translation.target_language"


def test_models_lists_default_model_and_soniox_aliases(api):
    models = {m["id"]: m for m in api.get("/models").json()["models"]}
    primary = next(m for m in models.values() if m["aliased_model_id"] is None)
    assert primary["id"] == "whisper-tiny.en"
    for alias in ["stt-async-v3", "stt-async-v4", "stt-async-v5", "stt-async-preview"]:
        assert models[alias]["aliased_model_id"] == primary["id"]
    required = {
        "id",
        "aliased_model_id",
        "name",
        "context_version",
        "transcription_mode",
        "languages",
        "supports_language_hints_strict",
        "translation_targets",
        "two_way_translation_pairs",
        "one_way_translation",
        "two_way_translation",
    }
    for model in models.values():
        assert required <= set(model)
        live = model["id"].startswith("stt-rt-")  # the realtime WebSocket's models
        assert model["transcription_mode"] == ("real_time" if live else "async")
        assert model["languages"] == [{"code": "en", "name": "English"}]  # tiny.en is English-only


def test_every_alias_and_the_primary_id_are_accepted(api):
    file = upload(api, JFK)
    for model in ["whisper-tiny.en", "stt-async-v3", "stt-async-preview"]:
        response = api.post("/transcriptions", json={"model": model, "file_id": file["id"]})
        assert response.status_code == 201
        assert response.json()["model"] == model


def test_api_also_answers_without_the_v1_prefix(server):
    response = httpx.get(
        f"http://127.0.0.1:{server.port}/files",
        headers={"Authorization": f"Bearer {server.api_key}"},
    )
    assert response.status_code == 200 and "files" in response.json()


def test_openapi_docs_are_served(server):
    root = f"http://127.0.0.1:{server.port}"
    assert httpx.get(root + "/docs").status_code == 200
    spec = httpx.get(root + "/openapi.json").json()
    assert "/v1/transcriptions/{transcription_id}/transcript" in spec["paths"]
    assert "/files" not in spec["paths"]


def test_openapi_links_and_create_examples_lead_to_real_resources(server, api):
    """What schemathesis's stateful phase relies on (tests/test_fuzz.py): every link names an
    operation of the document and parameters it has; the file upload's example uploads, its
    link to a transcription takes that file's id, and each JSON create's example is valid."""
    from hark.service import CreateTemporaryKey, CreateTranscription, CreateUploadUrl, InvoxPresign

    paths = httpx.get(f"http://127.0.0.1:{server.port}/openapi.json").json()["paths"]
    links = 0
    for operations in paths.values():
        for operation in operations.values():
            for response in operation["responses"].values():
                for link in response.get("links", {}).values():
                    path, _, method = link["operationRef"].removeprefix("#/paths/").rpartition("/")
                    target = paths[path.replace("~1", "/")][method]
                    names = {p["name"] for p in target.get("parameters", ())}
                    assert set(link.get("parameters", {})) <= names, link
                    assert "requestBody" in target or "requestBody" not in link, link
                    links += 1
    assert links >= 15

    def body(path: str, media_type: str = "application/json") -> dict:
        return paths[path]["post"]["requestBody"]["content"][media_type]["example"]

    example = body("/v1/files", "multipart/form-data")
    audio = example["file"].encode()
    assert audio.startswith(b"RIFF") and audio[8:12] == b"WAVE"
    reference = {"client_reference_id": example["client_reference_id"]}
    uploaded = api.post("/files", files={"file": ("example.wav", audio)}, data=reference)
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()["id"]
    assert api.get(f"/files/{file_id}/audio").content == audio
    link = paths["/v1/files"]["post"]["responses"]["201"]["links"]["TranscribeFile"]
    request = {
        k: file_id if v == "$response.body#/id" else v for k, v in link["requestBody"].items()
    }
    job = api.post("/transcriptions", json=request)
    assert job.status_code == 201, job.text
    assert job.json()["file_id"] == file_id
    api.delete(f"/transcriptions/{job.json()['id']}")
    # The JSON creates' examples pass their validation (POSTed where that reaches nothing
    # outside: a transcription's example names an audio_url on the internet).
    CreateTranscription.model_validate(body("/v1/transcriptions"))
    InvoxPresign.model_validate(body("/api/v1/generate-presigned-url"))
    for path, model in (
        ("/v1/files/upload-url", CreateUploadUrl),
        ("/v1/auth/temporary-api-key", CreateTemporaryKey),
    ):
        model.model_validate(body(path))
        created = api.post(path.removeprefix("/v1"), json=body(path))
        assert created.status_code in (200, 201), created.text


def test_liveness_readiness_and_metrics(server, api):
    root = f"http://127.0.0.1:{server.port}"
    assert httpx.get(root + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(root + "/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "storage": "ok", "broker": "ok"}

    def completed() -> float:
        scraped = httpx.get(root + "/metrics")
        assert scraped.headers["content-type"].startswith("text/plain")
        for sample in (
            'hark_jobs{state="queued"}',
            "hark_queue_depth ",
            "hark_queue_oldest_age_seconds ",
            "hark_database_up 1.0",
            'hark_webhook_deliveries_total{outcome="delivered"}',
            "hark_job_processing_seconds_bucket",
            "hark_audio_processed_seconds_total",
        ):
            assert sample in scraped.text
        line = next(x for x in scraped.text.splitlines() if x.startswith('hark_jobs{state="comp'))
        return float(line.split()[-1])

    before = completed()
    job = wait_for(api, create_job(api, upload(api, JFK)["id"])["id"])
    assert job["status"] == "completed"
    assert completed() >= before + 1


def test_an_idle_connection_stays_open_past_clients_keep_alive(server):
    """httpx keeps an idle connection 5 s, uvicorn's default closed it after 5 s too: a
    client reusing it at that moment got no response (seen as failed uploads under load).
    The server now waits longer than clients and proxies do."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/healthz")
        assert connection.getresponse().read() and connection.sock is not None
        opened = connection.sock
        time.sleep(6)  # longer than httpx's keepalive_expiry
        connection.request("GET", "/healthz")  # on the same connection: no reconnect
        assert connection.sock is opened
        assert connection.getresponse().status == 200  # RemoteDisconnected: it hung up
    finally:
        connection.close()
