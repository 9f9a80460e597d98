"""Per-project settings: webhook secrets, private-network exceptions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    select,
    update,
)

from .base import (
    StoreBase,
)
from .models import (
    InvoxCredential,
    Project,
    Transcription,
    utcnow,
)


class ProjectsStore(StoreBase):
    # -- per-project settings ---------------------------------------------------------------

    def webhook_secret(self, project: str, new_secret: str | None = None) -> str | None:
        """A project's own webhook signing secret, after replacing it with `new_secret`."""
        return self._project_setting(project, Project.webhook_secret, new_secret)

    def private_networks(self, project: str, networks: list[str] | None = None) -> list[str]:
        """The private networks a project's URLs may reach, after replacing them."""
        return self._project_setting(project, Project.allowed_private_networks, networks) or []

    def _project_setting(self, project: str, column: Any, new_value: Any) -> Any:
        project_id = self.ensure_project(project).id
        with self.db.write() as s:
            if new_value is not None:
                s.execute(
                    update(Project).where(Project.id == project_id).values({column: new_value})
                )
            return s.scalar(select(column).where(Project.id == project_id))

    def url_exceptions(self, project_id: str) -> list[str]:
        """The private networks a project (by id) may reach besides the server-wide ones."""
        with self.db.read() as s:
            networks = s.scalar(
                select(Project.allowed_private_networks).where(Project.id == project_id)
            )
        return networks or []

    def delivery_project(self, transcription_id: str) -> Project | None:
        """The project a webhook delivery is made for (for its secret and URL exceptions)."""
        with self.db.read() as s:
            return s.scalar(
                select(Project)
                .join(Transcription, Transcription.project_id == Project.id)
                .where(Transcription.id == transcription_id)
            )

    def list_invox_credentials(self) -> list[tuple[InvoxCredential, str]]:
        with self.db.read() as s:
            rows = s.execute(
                select(InvoxCredential, Project.name)
                .join(Project, Project.id == InvoxCredential.project_id)
                .order_by(InvoxCredential.created_at)
            )
            return [(credential, project) for credential, project in rows]

    def revoke_invox_credential(self, app_id: str) -> int:
        """Revoke the active credential with this app id (and so its tokens)."""
        with self.db.write() as s:
            return s.execute(
                update(InvoxCredential)
                .where(InvoxCredential.app_id == app_id, InvoxCredential.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            ).rowcount
