"""Invox credentials, access tokens and callback secrets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    select,
    update,
)

from .base import (
    StoreBase,
)
from .models import (
    InvoxCredential,
    InvoxToken,
    Project,
    utcnow,
)


class InvoxStore(StoreBase):
    # -- Invox credentials and access tokens ---------------------------------------------

    def add_invox_credential(
        self, project: str, app_id: str, key_hash: str, new_secret: str
    ) -> InvoxCredential:
        """Store a credential; the project gets `new_secret` for its callbacks unless it
        has one already."""
        project_id = self.ensure_project(project).id
        with self.db.write() as s:
            s.execute(
                update(Project)
                .where(Project.id == project_id, Project.invox_secret.is_(None))
                .values(invox_secret=new_secret)
            )
            credential = InvoxCredential(project_id=project_id, app_id=app_id, key_hash=key_hash)
            s.add(credential)
            return credential

    def invox_credential(self, app_id: str) -> InvoxCredential | None:
        """The active credential with this app id."""
        with self.db.read() as s:
            return s.scalar(
                select(InvoxCredential).where(
                    InvoxCredential.app_id == app_id, InvoxCredential.revoked_at.is_(None)
                )
            )

    def add_invox_token(self, token_hash: str, credential_id: str, expires_at: datetime) -> None:
        with self.db.write() as s:
            s.add(
                InvoxToken(
                    token_hash=token_hash, credential_id=credential_id, expires_at=expires_at
                )
            )

    def invox_caller(self, token_hash: str) -> tuple[str, str] | None:
        """(project id, app id) of an unexpired token whose credential is not revoked."""
        with self.db.read() as s:
            row = s.execute(
                select(InvoxCredential.project_id, InvoxCredential.app_id)
                .join(InvoxToken, InvoxToken.credential_id == InvoxCredential.id)
                .where(
                    InvoxToken.token_hash == token_hash,
                    InvoxToken.expires_at > utcnow(),
                    InvoxCredential.revoked_at.is_(None),
                )
            ).first()
            return None if row is None else (row[0], row[1])

    def invox_secret(self, project: str, new_secret: str | None = None) -> str | None:
        """A project's callback signing secret, after replacing it with `new_secret`."""
        return self._project_setting(project, Project.invox_secret, new_secret)
