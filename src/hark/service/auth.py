"""API keys: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from hark.store import AlreadyExists, ApiKey, Store, utcnow

from .errors import FieldError, InvalidRequest, ServiceError, Unauthenticated
from .requests import CreateTemporaryKey

DEFAULT_PROJECT = "default"
KEY_PREFIX = "hark_"
TEMPORARY_KEY_PREFIX = "hark_tmp_"
# What temporary keys can be made for: only uses Hark serves (it has no text-to-speech).
TEMPORARY_USAGES = ("transcribe_websocket",)


class PermissionDenied(ServiceError):
    status_code = 403
    error_type = "permission_denied"


def hash_key(api_key: str) -> str:
    # Keys carry 256 bits of randomness, so a fast unsalted hash is not brute-forceable.
    return hashlib.sha256(api_key.encode()).hexdigest()


MIN_KEY_LENGTH = 16


def key_prefix(api_key: str) -> str:
    """What listings show: a few leading characters of long random keys, else a fingerprint."""
    if len(api_key) >= 32:
        return api_key[:9]
    return "sha256:" + hash_key(api_key)[:8]


# Soniox's own wording for a missing or wrong key (its API reference's 401 example), with
# where a Hark key comes from instead of Soniox's console.
INCORRECT_KEY = (
    "Incorrect API key provided. You can get an API key with `hark keys create` on the "
    "server; send it as 'Authorization: Bearer <api key>'."
)
# Shown for a stored secret whatever its length, so the length does not leak either.
SECRET_MASK = "*" * 18


def bearer_key_prefix(authorization: str | None) -> str | None:
    token = _bearer_token(authorization)
    return key_prefix(token) if token else None


def mask(secret: str | None) -> str | None:
    return None if secret is None else SECRET_MASK


@dataclass
class NewKey:
    id: str
    api_key: str
    project: str


@dataclass
class TemporaryKey:
    api_key: str
    expires_at: datetime


class KeyService:
    def __init__(self, store: Store, cache_seconds: float = 0.0) -> None:
        self.store = store
        # key hash -> (project id, valid until): status polls then cost no key lookup.
        self._cache: dict[str, tuple[str, float]] = {}
        self._cache_seconds = cache_seconds

    def cached_project(self, authorization: str | None) -> str | None:
        """The project of a recently seen key, without touching the database."""
        token = _bearer_token(authorization)
        return self._cached(hash_key(token)) if token else None

    def _cached(self, key_hash: str) -> str | None:
        hit = self._cache.get(key_hash)
        return hit[0] if hit is not None and hit[1] >= time.monotonic() else None

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
        try:
            self.add(api_key, project, name="HARK_API_KEY")
        except AlreadyExists:  # another replica added it at the same moment
            return False
        return True

    def authenticate(self, authorization: str | None) -> str:
        """Return the project id for an `Authorization: Bearer <key>` header."""
        token = _bearer_token(authorization)
        if token is None:
            raise Unauthenticated(INCORRECT_KEY)
        return self.authenticate_key(token)

    def authenticate_key(self, token: str) -> str:
        """Return the project id of a permanent API key (as the legacy gRPC API sends it, in
        each request's `api_key` field); recently seen keys cost no database lookup."""
        if not token:
            raise Unauthenticated(INCORRECT_KEY)
        key_hash = hash_key(token)
        if cached := self._cached(key_hash):
            return cached
        project_id = self.store.project_for_key(key_hash)
        if project_id is None:
            temporary = self.store.get_api_key(key_hash)
            if temporary is not None and temporary.usage_type is not None:
                raise PermissionDenied(
                    f"Temporary API keys only authorize {temporary.usage_type}; use a "
                    "permanent API key for this API."
                )
            raise Unauthenticated(INCORRECT_KEY)
        if self._cache_seconds > 0:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key_hash] = (project_id, time.monotonic() + self._cache_seconds)
        return project_id

    def create_temporary(self, project_id: str, request: CreateTemporaryKey) -> TemporaryKey:
        if request.usage_type not in TEMPORARY_USAGES:
            raise InvalidRequest(
                f"usage_type {request.usage_type!r} is not available on this server "
                f"(available: {', '.join(TEMPORARY_USAGES)}).",
                validation_errors=[FieldError("body.usage_type", "not available")],
            )
        api_key = TEMPORARY_KEY_PREFIX + secrets.token_urlsafe(32)
        expires_at = utcnow() + timedelta(seconds=request.expires_in_seconds)
        self.store.add_api_key(
            project_id,
            hash_key(api_key),
            key_prefix(api_key),
            name=None,
            temporary=ApiKey(
                usage_type=request.usage_type,
                expires_at=expires_at,
                single_use=bool(request.single_use),
                client_reference_id=request.client_reference_id,
                max_session_seconds=request.max_session_duration_seconds,
            ),
        )
        return TemporaryKey(api_key, expires_at)

    def authenticate_for(self, token: str | None, usage_type: str) -> ApiKey:
        """The key behind `token` if it may be used for `usage_type`: a permanent key, or a
        temporary one made for that use (spending it, if single-use)."""
        if not token:
            raise Unauthenticated(INCORRECT_KEY)
        key_hash = hash_key(token)
        project_id = self.store.project_for_key(key_hash)
        if project_id is not None:
            return ApiKey(project_id=project_id)
        key = self.store.use_temporary_key(key_hash, usage_type)
        if key is not None:
            return key
        raise self._refusal(key_hash, usage_type)

    def check_for(self, token: str | None, usage_type: str) -> None:
        """Raise as `authenticate_for` would, without spending a single-use key: for a key
        that arrives before the request it authorizes (a WebSocket's handshake)."""
        if not token:
            raise Unauthenticated(INCORRECT_KEY)
        key_hash = hash_key(token)
        if self.store.project_for_key(key_hash) is not None:
            return
        known = self.store.get_api_key(key_hash)
        if not _usable(known, usage_type):
            raise self._refusal(key_hash, usage_type)

    def _refusal(self, key_hash: str, usage_type: str) -> ServiceError:
        """Why a key that is neither permanent nor a usable temporary one is refused."""
        known = self.store.get_api_key(key_hash)
        if known is None or known.revoked_at is not None:
            return Unauthenticated(INCORRECT_KEY)
        if known.usage_type != usage_type:
            return PermissionDenied(f"This temporary API key is not valid for {usage_type}.")
        if known.expires_at is not None and known.expires_at <= utcnow():
            return Unauthenticated(
                "This temporary API key has expired.", error_type="expired_api_key"
            )
        return Unauthenticated(
            "This single-use temporary API key has already been used.",
            error_type="used_api_key",
        )


def _usable(key: ApiKey | None, usage_type: str) -> bool:
    return (
        key is not None
        and key.revoked_at is None
        and key.usage_type == usage_type
        and (key.expires_at is None or key.expires_at > utcnow())
        and not (key.single_use and key.used_at is not None)
    )


_CACHE_LIMIT = 10_000


def _bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
