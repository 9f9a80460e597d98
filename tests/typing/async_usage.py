"""Type-checked (mypy --strict, in `make lint` and tests/test_client_signatures.py), never run:
every public async method is awaited and its result used as its declared type, so a
mis-annotated `AsyncClient` (results typed as if sync) fails the check."""

from __future__ import annotations

from hark.client import (
    AsyncClient,
    Count,
    File,
    FileList,
    ModelList,
    TemporaryApiKey,
    Transcript,
    Transcription,
    TranscriptionList,
    UploadUrl,
)


async def every_async_method(client: AsyncClient) -> None:
    page: FileList = await client.files.list(limit=10)
    count: Count = await client.files.count()
    file: File = await client.files.upload(b"RIFF", filename="a.wav")
    file = await client.files.get(file.id)
    maybe_file: File | None = await client.files.get_or_none(file_id=file.id)
    url: UploadUrl = await client.files.create_upload_url("a.wav", size=4)
    file = await client.files.upload_presigned(b"RIFF", filename="a.wav")
    async for listed in client.files.list_all():
        file = listed
    await client.files.delete(file.id)
    await client.files.delete_if_exists(file_id=file.id)
    await client.files.delete_all()

    jobs: TranscriptionList = await client.stt.list()
    count = await client.stt.count()
    job: Transcription = await client.stt.create(file_id=file.id)
    job = await client.stt.get(transcription_id=job.id)
    maybe_job: Transcription | None = await client.stt.get_or_none(job.id)
    job = await client.stt.wait(job.id, interval_sec=0.5)
    job = await client.stt.cancel(job.id)
    job = await client.stt.transcribe(file=b"RIFF")
    job = await client.stt.transcribe_from_url(audio_url="https://example.com/a.wav")
    job = await client.stt.transcribe_from_file_id(file_id=file.id)
    job = await client.stt.transcribe_from_file(file=b"RIFF")
    job = await client.stt.transcribe_file_with_webhook(
        file=b"RIFF", webhook_url="https://example.com/hook"
    )
    job = await client.stt.transcribe_and_wait(file=b"RIFF")
    transcript: Transcript = await client.stt.transcribe_and_wait_with_tokens(file=b"RIFF")
    transcript = await client.stt.get_transcript(job.id)
    async for listed_job in client.stt.list_all():
        job = listed_job
    await client.stt.delete(job.id)
    await client.stt.delete_if_exists(job.id)
    await client.stt.destroy(job.id)
    await client.stt.delete_all()
    await client.stt.destroy_all()

    models: ModelList = await client.models.list()
    key: TemporaryApiKey = await client.auth.create_temporary_api_key(expires_in_seconds=60)
    response = await client.request("GET", "models")
    print(page, count, maybe_file, url, jobs, maybe_job, transcript, models, key, response)
