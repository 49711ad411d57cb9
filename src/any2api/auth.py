"""Who is calling, and may they: the authenticated :class:`Client`, and the key digest every key table uses.

The authenticator itself is :class:`~any2api.keys.KeyAuth` (client keys in the store, plus the config's
admin key), typed by :class:`~any2api.ports.Authenticator`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

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


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


MISSING_KEY = "Missing API key. Send it as 'Authorization: Bearer <key>' (or 'x-api-key: <key>')."
INVALID_KEY = "Incorrect API key provided."


PIN_HEADER = "x-any2api-account"


def check_pin(client: Client, account_id: str) -> None:
    """``x-any2api-account`` pins one upstream account: admin keys only (for debugging that account)."""
    if not client.is_admin:
        raise GatewayError(
            "permission",
            f"Only admin keys may pin an account ({PIN_HEADER}).",
            param=PIN_HEADER,
            code="permission_denied",
        )
