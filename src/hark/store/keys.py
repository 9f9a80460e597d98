"""Projects, API keys and temporary keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from .base import (
    AlreadyExists,
    StoreBase,
)
from .models import (
    ApiKey,
    InvoxToken,
    Project,
    utcnow,
)


class KeysStore(StoreBase):
    # -- projects and keys -------------------------------------------------------------

    def ensure_project(self, name: str) -> Project:
        try:
            with self.db.write() as s:
                project = s.scalar(select(Project).where(Project.name == name))
                if project is None:
                    project = Project(name=name)
                    s.add(project)
                return project
        except IntegrityError:  # another process created it at the same moment
            with self.db.read() as s:
                return s.scalars(select(Project).where(Project.name == name)).one()

    def project_limits(self, project_id: str) -> dict | None:
        with self.db.read() as s:
            return s.scalar(select(Project.limits).where(Project.id == project_id))

    def set_project_limits(self, name: str, limits: dict | None) -> Project:
        project = self.ensure_project(name)
        with self.db.write() as s:
            s.execute(update(Project).where(Project.id == project.id).values(limits=limits or None))
        project.limits = limits or None
        return project

    def add_api_key(
        self,
        project_id: str,
        key_hash: str,
        key_prefix: str,
        name: str | None,
        temporary: ApiKey | None = None,
    ) -> ApiKey:
        """Store a key; `temporary` carries the usage, expiry and limits of a temporary one.
        Raises AlreadyExists when a key with this hash is stored already."""
        key = temporary or ApiKey()
        key.project_id, key.key_hash, key.key_prefix, key.name = (
            project_id,
            key_hash,
            key_prefix,
            name,
        )
        try:
            with self.db.write() as s:
                s.add(key)
                return key
        except IntegrityError as exc:
            if self.has_api_key(key_hash):
                raise AlreadyExists("this API key is already stored") from None
            raise exc

    def has_api_key(self, key_hash: str) -> bool:
        with self.db.read() as s:
            return s.scalar(select(ApiKey.id).where(ApiKey.key_hash == key_hash)) is not None

    def project_for_key(self, key_hash: str) -> str | None:
        """The project of a permanent, unrevoked key (temporary keys never match)."""
        with self.db.read() as s:
            return s.scalar(
                select(ApiKey.project_id).where(
                    ApiKey.key_hash == key_hash,
                    ApiKey.revoked_at.is_(None),
                    ApiKey.usage_type.is_(None),
                )
            )

    def get_api_key(self, key_hash: str) -> ApiKey | None:
        with self.db.read() as s:
            return s.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))

    def use_temporary_key(self, key_hash: str, usage_type: str) -> ApiKey | None:
        """Spend one use of an unexpired temporary key made for `usage_type`; a single-use
        key is marked used in the same statement, so two racing uses cannot both win."""
        now = utcnow()
        usable = and_(
            ApiKey.key_hash == key_hash,
            ApiKey.usage_type == usage_type,
            ApiKey.revoked_at.is_(None),
            ApiKey.expires_at > now,
            or_(ApiKey.single_use.is_(False), ApiKey.used_at.is_(None)),
        )
        with self.db.write() as s:
            if not s.execute(update(ApiKey).where(usable).values(used_at=now)).rowcount:
                return None
            return s.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))

    def purge_expired_keys(self, before: datetime) -> int:
        """Delete temporary keys and Invox access tokens that expired before `before`."""
        with self.db.write() as s:
            tokens = s.execute(delete(InvoxToken).where(InvoxToken.expires_at < before)).rowcount
            return (
                tokens
                + s.execute(
                    delete(ApiKey).where(ApiKey.usage_type.is_not(None), ApiKey.expires_at < before)
                ).rowcount
            )

    def list_api_keys(self) -> list[tuple[ApiKey, str]]:
        with self.db.read() as s:
            rows = s.execute(
                select(ApiKey, Project.name)
                .join(Project, Project.id == ApiKey.project_id)
                .where(ApiKey.usage_type.is_(None))
                .order_by(ApiKey.created_at)
            )
            return [(key, project) for key, project in rows]

    def count_active_api_keys(self) -> int:
        with self.db.read() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(ApiKey)
                    .where(ApiKey.revoked_at.is_(None), ApiKey.usage_type.is_(None))
                )
                or 0
            )

    def revoke_api_key(self, key_id_or_prefix: str) -> int:
        """Revoke the one active key with this id or prefix; returns how many matched
        (nothing is revoked unless exactly one did)."""
        match = and_(
            or_(ApiKey.id == key_id_or_prefix, ApiKey.key_prefix == key_id_or_prefix),
            ApiKey.revoked_at.is_(None),
            ApiKey.usage_type.is_(None),
        )
        with self.db.write() as s:
            matches = s.scalar(select(func.count()).select_from(ApiKey).where(match)) or 0
            if matches == 1:
                s.execute(update(ApiKey).where(match).values(revoked_at=utcnow()))
            return matches
