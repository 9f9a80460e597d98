"""The legacy Soniox async API's unit (CONTRACTS §2): a file uploaded for transcription.

Hark keeps it as an ordinary file plus an ordinary transcription job, and gives the job the
file's id, so the one `file_id` a legacy client holds names both over REST
(`/v1/files/{id}` and `/v1/transcriptions/{id}`). Transcriptions created over REST are legacy
"files" too, under their own id.
"""

from __future__ import annotations

from collections.abc import Iterator

from hark.store import Transcription

from .errors import NotFound
from .files import FileService, Upload, not_found
from .requests import CreateTranscription
from .transcriptions import TranscriptionService

PAGE = 1000


class AsyncFiles:
    def __init__(self, files: FileService, transcriptions: TranscriptionService) -> None:
        self.files = files
        self.transcriptions = transcriptions

    def open(self, project_id: str, request: CreateTranscription) -> Upload:
        """Start receiving audio for `request` (whose file_id is filled in by `finish`): the
        request and the project's file quota are checked before any audio arrives."""
        self.transcriptions.check(project_id, request)
        return self.files.open_upload(project_id)

    def finish(
        self, upload: Upload, request: CreateTranscription, filename: str | None
    ) -> Transcription:
        """Store the file and queue its transcription, under the file's id; if the job
        cannot be created (e.g. a quota), the file is removed again."""
        file = self.files.finish_upload(upload, filename, request.client_reference_id)
        try:
            return self.transcriptions.create(
                upload.project_id, request.model_copy(update={"file_id": file.id}), job_id=file.id
            )
        except BaseException:
            self.files.delete(upload.project_id, file.id)
            raise

    def get(self, project_id: str, file_id: str) -> Transcription:
        try:
            return self.transcriptions.get(project_id, file_id)
        except NotFound:
            raise not_found(file_id) from None

    def list(self, project_id: str) -> Iterator[Transcription]:
        """Every transcription of the project, newest first."""
        cursor = None
        while True:
            items, cursor = self.transcriptions.list(project_id, PAGE, cursor)
            yield from items
            if cursor is None:
                return

    def delete(self, project_id: str, file_id: str) -> None:
        """Delete the transcription and the file of this id, whichever exist (a job being
        transcribed cannot be deleted: Conflict)."""
        found = False
        for delete in (self.transcriptions.delete, self.files.delete):
            try:
                delete(project_id, file_id)
                found = True
            except NotFound:
                pass
        if not found:
            raise not_found(file_id)
