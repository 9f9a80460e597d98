"""API keys: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
import time
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
    def __init__(self, store: Store, cache_seconds: float = 0.0) -> None:
        self.store = store
        # key hash -> (project id, valid until): status polls then cost no key lookup.
        self._cache: dict[str, tuple[str, float]] = {}
        self._cache_seconds = cache_seconds

    def cached_project(self, authorization: str | None) -> str | None:
        """The project of a recently seen key, without touching the database."""
        token = _bearer_token(authorization)
        hit = self._cache.get(hash_key(token)) if token else None
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

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
        token = _bearer_token(authorization)
        if token is None:
            raise Unauthenticated("Malformed Authorization header: expected 'Bearer <api key>'.")
        key_hash = hash_key(token)
        project_id = self.store.project_for_key(key_hash)
        if project_id is None:
            raise Unauthenticated("Invalid API key.", error_type="invalid_api_key")
        if self._cache_seconds > 0:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key_hash] = (project_id, time.monotonic() + self._cache_seconds)
        return project_id


_CACHE_LIMIT = 10_000


def _bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
