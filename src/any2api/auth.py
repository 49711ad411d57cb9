"""Client authentication: who is calling, and may they."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from .core.errors import GatewayError


@dataclass(slots=True)
class Client:
    """An authenticated caller."""

    key_id: str
    name: str = ""
    allowed_models: frozenset[str] | None = None
    is_admin: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    def check_model(self, model: str) -> None:
        if self.allowed_models is not None and model not in self.allowed_models:
            raise GatewayError(
                "permission",
                f"This API key may not use model `{model}`.",
                param="model",
                code="model_not_allowed",
            )


class Authenticator(Protocol):
    async def authenticate(self, token: str | None) -> Client: ...


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


MISSING_KEY = "Missing API key. Send it as 'Authorization: Bearer <key>' (or 'x-api-key: <key>')."
INVALID_KEY = "Incorrect API key provided."


class StaticAuth:
    """Keys from the config file, kept only as SHA-256 digests; lookup by digest so the comparison
    never touches the secret byte by byte."""

    def __init__(self, keys: list[str], admin_key: str | None = None) -> None:
        self._by_hash: dict[str, Client] = {}
        for i, k in enumerate(keys):
            self._by_hash[hash_key(k)] = Client(key_id=f"config#{i}", name=f"config key {i}")
        if admin_key:
            self._by_hash[hash_key(admin_key)] = Client(key_id="admin", name="admin", is_admin=True)
        self.open = not keys

    async def authenticate(self, token: str | None) -> Client:
        if not token:
            raise GatewayError("authentication", MISSING_KEY, code="missing_api_key")
        client = self._by_hash.get(hash_key(token))
        if client is None:
            raise GatewayError("authentication", INVALID_KEY, code="invalid_api_key")
        return client
