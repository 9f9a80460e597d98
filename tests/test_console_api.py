"""The console's endpoints, in both configurations: the stored audio with HTTP Range,
transcript corrections applied everywhere (JSON, text, SRT, VTT, exports), exports named
after the file, search through the store (SQLite FTS5 / PostgreSQL), the status filter,
and another project seeing none of it. Also: the console's page and assets are served."""

from __future__ import annotations

import io
import re

import pytest

from hark import invox
from support import JFK, assert_error, create_job, upload, wait_for

pytestmark = pytest.mark.backends("embedded", "scaled")

MISSING = "00000000-0000-0000-0000-000000000000"
WAIT = 600  # seconds for the diarized job, on a busy machine


@pytest.fixture(scope="module")
def done(server) -> dict:
    """A finished, diarized transcription of JFK, with its file and transcript."""
    with server.client() as api:
        file = upload(api, JFK)
        job = create_job(api, file["id"], enable_speaker_diarization=True)
        job = wait_for(api, job["id"], timeout=WAIT)
        assert job["status"] == "completed", job
        transcript = api.get(f"/transcriptions/{job['id']}/transcript").json()
    return {"file": file, "job": job, "transcript": transcript}


def word_index(transcript: dict, word: str) -> int:
    return next(
        i
        for i, t in enumerate(transcript["tokens"])
        if re.sub(r"\W", "", t["text"]).lower() == word
    )


# -- audio --------------------------------------------------------------------------------


def test_audio_is_streamed_with_ranges(api, done):
    audio = JFK.read_bytes()
    url = f"/files/{done['file']['id']}/audio"

    whole = api.get(url)
    assert whole.status_code == 200
    assert whole.content == audio
    assert whole.headers["content-type"] == "audio/flac"
    assert whole.headers["accept-ranges"] == "bytes"
    assert int(whole.headers["content-length"]) == len(audio)

    part = api.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == audio[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(audio)}"

    tail = api.get(url, headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == audio[-50:]
    rest = api.get(url, headers={"Range": f"bytes={len(audio) - 10}-"})
    assert rest.status_code == 206 and rest.content == audio[-10:]
    beyond = api.get(url, headers={"Range": f"bytes={len(audio) - 5}-{len(audio) + 999}"})
    assert beyond.status_code == 206 and beyond.content == audio[-5:]

    past = api.get(url, headers={"Range": f"bytes={len(audio)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(audio)}"
    # A malformed range is ignored: the whole file.
    assert api.get(url, headers={"Range": "bytes=9-3"}).content == audio

    assert_error(api.get(f"/files/{MISSING}/audio"), 404, "file_not_found")


# -- corrections --------------------------------------------------------------------------


def test_corrections_are_used_everywhere(api, done):
    job_id = done["job"]["id"]
    before = api.get(f"/transcriptions/{job_id}/transcript").json()
    speakers = {t["speaker"] for t in before["tokens"] if "speaker" in t}
    assert speakers, "diarization labelled no speaker"
    speaker = sorted(speakers)[0]
    index = word_index(before, "country")
    original = before["tokens"][index]

    response = api.patch(
        f"/transcriptions/{job_id}/transcript",
        json={"speaker_names": {speaker: "Dr. Ruiz"}, "tokens": {str(index): "nation,"}},
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["speaker_names"] == {speaker: "Dr. Ruiz"}
    assert edited["edited_at"] is not None
    token = edited["tokens"][index]
    assert token["text"].strip() == "nation,"
    assert token["text"][:1] == original["text"][:1]  # the word keeps its leading space
    assert (token["start_ms"], token["end_ms"]) == (original["start_ms"], original["end_ms"])
    assert edited["text"] == "".join(t["text"] for t in edited["tokens"])
    assert "nation," in edited["text"]
    assert api.get(f"/transcriptions/{job_id}/transcript").json() == edited

    text = api.get(f"/transcriptions/{job_id}/transcript", params={"format": "text"}).text
    assert "Dr. Ruiz: " in text and "nation," in text
    assert f"Speaker {speaker}:" not in text
    srt = api.get(f"/transcriptions/{job_id}/transcript", params={"format": "srt"}).text
    assert re.search(r"^Dr\. Ruiz: ", srt, re.M) and "nation," in srt
    vtt = api.get(f"/transcriptions/{job_id}/transcript", params={"format": "vtt"}).text
    assert "<v Dr. Ruiz>" in vtt and "nation," in vtt
    # Exports, named after the file.
    for fmt in ("txt", "srt", "vtt", "json"):
        export = api.get(f"/transcriptions/{job_id}/export", params={"format": fmt})
        assert export.status_code == 200, export.text
        assert f'filename="jfk.{fmt}"' in export.headers["content-disposition"]
        assert "nation," in export.text and "Dr. Ruiz" in export.text
    assert api.get(f"/transcriptions/{job_id}/export", params={"format": "srt"}).text == srt

    docx = api.get(f"/transcriptions/{job_id}/export", params={"format": "docx"})
    assert docx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="jfk.docx"' in docx.headers["content-disposition"]
    from docx import Document

    paragraphs = [p.text for p in Document(io.BytesIO(docx.content)).paragraphs]
    assert paragraphs[0] == "jfk.flac"
    assert any(re.match(r"\[00:\d\d\] Dr\. Ruiz: ", p) for p in paragraphs[1:])
    assert any("nation," in p for p in paragraphs[1:])

    # The Invox result names speakers the same way (the shared renderer).
    segments = invox.segments(edited["tokens"], edited["speaker_names"])
    assert {s["speaker"] for s in segments} <= {"Dr. Ruiz", *speakers} and any(
        s["speaker"] == "Dr. Ruiz" for s in segments
    )

    history = api.get(f"/transcriptions/{job_id}/transcript/edits").json()["edits"]
    assert history[-1]["speaker_names"] == {speaker: {"from": None, "to": "Dr. Ruiz"}}
    assert history[-1]["tokens"] == {str(index): {"from": original["text"], "to": token["text"]}}

    # The search index follows the edit.
    hits = api.get("/search", params={"q": "nation"}).json()["hits"]
    assert any(h["transcription_id"] == job_id for h in hits)
    hits = api.get("/search", params={"q": "country"}).json()["hits"]
    assert not any(h["transcription_id"] == job_id and h["token_index"] == index for h in hits)

    # An empty name forgets it; the word goes back.
    api.patch(
        f"/transcriptions/{job_id}/transcript",
        json={"speaker_names": {speaker: ""}, "tokens": {str(index): original["text"]}},
    ).raise_for_status()
    restored = api.get(f"/transcriptions/{job_id}/transcript").json()
    assert restored.get("speaker_names") is None
    assert restored["tokens"] == before["tokens"] and restored["text"] == before["text"]
    assert (
        len(api.get(f"/transcriptions/{job_id}/transcript/edits").json()["edits"])
        == len(history) + 1
    )


def test_bad_corrections_are_refused_precisely(api, done):
    url = f"/transcriptions/{done['job']['id']}/transcript"
    size = len(done["transcript"]["tokens"])
    body = assert_error(api.patch(url, json={"speaker_names": {"99": "Nobody"}}), 400)
    assert "No speaker '99'" in body["message"]
    assert body["validation_errors"][0]["location"] == "body.speaker_names.99"
    body = assert_error(api.patch(url, json={"tokens": {str(size): "x"}}), 400)
    assert f"No token {size}" in body["message"]
    assert_error(api.patch(url, json={}), 400)
    assert_error(api.patch(url, json={"speakers": {"1": "A"}}), 400)  # misspelt field
    assert_error(api.patch(url, json={"tokens": {"0": "x" * 201}}), 400)
    assert_error(api.patch(f"/transcriptions/{MISSING}/transcript", json={"tokens": {}}), 400)
    assert_error(
        api.patch(f"/transcriptions/{MISSING}/transcript", json={"tokens": {"0": "x"}}),
        404,
        "transcription_not_found",
    )
    assert_error(api.get(f"/transcriptions/{done['job']['id']}/export?format=pdf"), 400)


# -- search -------------------------------------------------------------------------------


def test_search_finds_the_moment_a_word_is_said(api, done):
    job_id = done["job"]["id"]
    transcript = api.get(f"/transcriptions/{job_id}/transcript").json()
    index = word_index(transcript, "americans")
    response = api.get("/search", params={"q": "Americans"})
    assert response.status_code == 200, response.text
    hit = next(h for h in response.json()["hits"] if h["transcription_id"] == job_id)
    assert hit["filename"] == "jfk.flac" and hit["file_id"] == done["file"]["id"]
    assert hit["token_index"] == index
    assert hit["start_ms"] == transcript["tokens"][index]["start_ms"]
    start, end = hit["highlight"]
    assert hit["snippet"][start:end].lower().startswith("americans")

    # Every word must be there; the last may be the start of a word.
    assert any(
        h["transcription_id"] == job_id
        for h in api.get("/search", params={"q": "fellow amer"}).json()["hits"]
    )
    assert not api.get("/search", params={"q": "americans zebra"}).json()["hits"]
    assert_error(api.get("/search", params={"q": "  ?! "}), 400)
    assert_error(api.get("/search"), 400)


def test_status_filter(api, done):
    job_id = done["job"]["id"]
    completed = api.get("/transcriptions", params={"status": "completed"}).json()
    assert job_id in {t["id"] for t in completed["transcriptions"]}
    assert all(t["status"] == "completed" for t in completed["transcriptions"])
    queued = api.get("/transcriptions", params={"status": "queued"}).json()
    assert job_id not in {t["id"] for t in queued["transcriptions"]}
    assert_error(api.get("/transcriptions", params={"status": "done"}), 400)


# -- tenant isolation -----------------------------------------------------------------------


def test_another_project_sees_none_of_it(server, done, other_project_key):
    job_id, file_id = done["job"]["id"], done["file"]["id"]
    with server.client(other_project_key) as other:
        assert_error(other.get(f"/files/{file_id}/audio"), 404)
        assert_error(
            other.patch(
                f"/transcriptions/{job_id}/transcript", json={"speaker_names": {"1": "Eve"}}
            ),
            404,
        )
        assert_error(other.get(f"/transcriptions/{job_id}/transcript/edits"), 404)
        assert_error(other.get(f"/transcriptions/{job_id}/export?format=srt"), 404)
        assert other.get("/search", params={"q": "americans"}).json() == {"hits": []}
        listed = other.get("/transcriptions", params={"status": "completed"}).json()
        assert job_id not in {t["id"] for t in listed["transcriptions"]}
    with server.client() as api:
        names = api.get(f"/transcriptions/{job_id}/transcript").json().get("speaker_names")
        assert "Eve" not in (names or {}).values()
        assert_error(server.client("not-a-key").get(f"/files/{file_id}/audio"), 401)


# -- the page -------------------------------------------------------------------------------


def test_the_console_is_served(server):
    import httpx

    root = f"http://127.0.0.1:{server.port}"
    page = httpx.get(root + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="(/console/[^"]+)"', page.text)
    assert "/console/app.js" in assets
    for asset in [*assets, "/console/transcript.js", "/console/live.js", "/console/ui.js"]:
        response = httpx.get(root + asset)
        assert response.status_code == 200, asset
    script = httpx.get(root + "/console/app.js")
    assert "javascript" in script.headers["content-type"]
    # Unknown paths keep the API's JSON 404 envelope.
    assert httpx.get(root + "/nothing-here").json()["error_type"] == "not_found"
