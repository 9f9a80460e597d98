"""API keys: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from hark.store import Store

from .errors import Unauthenticated

DEFAULT_PROJECT = "default"
KEY_PREFIX = "hark_"


def hash_key(api_key: str) -> str:
    # Keys carry 256 bits of randomness, so a fast unsalted hash is not brute-forceable.
    return hashlib.sha256(api_key.encode()).hexdigest()


MIN_KEY_LENGTH = 16


def key_prefix(api_key: str) -> str:
    """What listings show: a few leading characters of long random keys, else a fingerprint."""
    if len(api_key) >= 32:
        return api_key[:9]
    return "sha256:" + hash_key(api_key)[:8]


def mask(secret: str | None) -> str | None:
    return None if secret is None else "*" * min(len(secret), 18) or "*"


@dataclass
class NewKey:
    id: str
    api_key: str
    project: str


class KeyService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, project: str = DEFAULT_PROJECT, name: str | None = None) -> NewKey:
        api_key = KEY_PREFIX + secrets.token_urlsafe(32)
        return self.add(api_key, project, name)

    def add(self, api_key: str, project: str = DEFAULT_PROJECT, name: str | None = None) -> NewKey:
        project_row = self.store.ensure_project(project)
        if len(api_key) < MIN_KEY_LENGTH:
            raise ValueError(f"API keys must be at least {MIN_KEY_LENGTH} characters long.")
        row = self.store.add_api_key(project_row.id, hash_key(api_key), key_prefix(api_key), name)
        return NewKey(id=row.id, api_key=api_key, project=project)

    def ensure(self, api_key: str, project: str = DEFAULT_PROJECT) -> bool:
        """Make sure a known key exists; returns True when it had to be added."""
        if self.store.has_api_key(hash_key(api_key)):
            return False
        self.add(api_key, project, name="HARK_API_KEY")
        return True

    def authenticate(self, authorization: str | None) -> str:
        """Return the project id for an `Authorization: Bearer <key>` header."""
        if not authorization:
            raise Unauthenticated("Missing API key: send it as 'Authorization: Bearer <api key>'.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Malformed Authorization header: expected 'Bearer <api key>'.")
        project_id = self.store.project_for_key(hash_key(token.strip()))
        if project_id is None:
            raise Unauthenticated("Invalid API key.", error_type="invalid_api_key")
        return project_id
