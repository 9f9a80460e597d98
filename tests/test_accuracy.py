"""Accuracy on real speech through the whole service (the dev-set LibriSpeech recordings)."""

from __future__ import annotations

import jiwer
import pytest

from support import DEV_CLEAN, create_job, normalize, upload, wait_for

DEV_SET = sorted(p for p in DEV_CLEAN.iterdir() if p.suffix in (".flac", ".wav"))


@pytest.mark.slow
def test_dev_clean_wer_at_most_15_percent(api):
    assert len(DEV_SET) >= 10
    jobs = {path: create_job(api, upload(api, path)["id"])["id"] for path in DEV_SET}
    references, hypotheses = [], []
    for path, job_id in jobs.items():
        assert wait_for(api, job_id)["status"] == "completed"
        reference = path.with_suffix(".txt")
        references.append(normalize(reference.read_text()))
        hypotheses.append(normalize(api.get(f"/transcriptions/{job_id}/transcript").json()["text"]))
    wer = jiwer.wer(references, hypotheses)
    print(f"dev-clean WER over {len(DEV_SET)} recordings: {wer:.3%}")
    assert wer <= 0.15
