"""Persistent state: upstream accounts, client keys, usage, runtime settings (SQLAlchemy Core, async)."""

from .accounts import AccountRow, DuplicateAccountError
from .client_keys import KeyRow
from .crypto import SecretKeyError
from .engine import StoreURLError
from .store import Store
from .usage import UsageRow

__all__ = [
    "AccountRow",
    "DuplicateAccountError",
    "KeyRow",
    "SecretKeyError",
    "Store",
    "StoreURLError",
    "UsageRow",
]
