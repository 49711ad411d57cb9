"""The store's tables (SQLAlchemy Core). Times are UNIX seconds (float) so both backends agree.

Changing a table here needs a migration in ``any2api/alembic/versions`` (a test compares the two)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

metadata = MetaData()

# An id column that autoincrements on both backends (SQLite only does so for INTEGER PRIMARY KEY).
_BigId = BigInteger().with_variant(Integer(), "sqlite")

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("provider", String(128), nullable=False),
    Column("label", String(256), nullable=False, server_default=""),
    Column("secret", Text, nullable=True),  # Encrypted upstream credential (``None`` for a keyless upstream).
    Column(
        "fingerprint", String(64), nullable=False
    ),  # Keyed hash of the credential: finds duplicates without decrypting.
    Column("weight", Integer, nullable=False, server_default="1"),
    Column("max_inflight", Integer, nullable=False, server_default="2"),
    Column("proxy", Text, nullable=True),  # Encrypted proxy URL (it may hold credentials).
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("disabled_reason", Text, nullable=True),
    Column("disabled_by", String(16), nullable=True),
    Column("cooldown_until", Float, nullable=True),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("last_used", Float, nullable=True),
    Column("source", String(16), nullable=False, server_default="admin"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("provider", "fingerprint", name="uq_accounts_provider_fingerprint"),
    Index("ix_accounts_provider", "provider"),
)

client_keys = Table(
    "client_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(256), nullable=False, server_default=""),
    Column("key_hash", String(64), nullable=False),
    Column("hint", String(32), nullable=False, server_default=""),
    Column("allowed_models", Text, nullable=True),  # JSON list of public model names; ``None``: every model.
    Column("rpm", Integer, nullable=True),
    Column("tpm", Integer, nullable=True),
    Column("token_budget", BigInteger, nullable=True),
    Column("tokens_used", BigInteger, nullable=False, server_default="0"),
    Column("expires_at", Float, nullable=True),
    Column("revoked_at", Float, nullable=True),
    Column("is_admin", Boolean, nullable=False, server_default=false()),
    Column("source", String(16), nullable=False, server_default="admin"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("key_hash", name="uq_client_keys_key_hash"),
)

usage_records = Table(
    "usage_records",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("public_model", String(256), nullable=False),
    Column("provider", String(128), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("input_tokens", Integer, nullable=False, server_default="0"),
    Column("output_tokens", Integer, nullable=False, server_default="0"),
    Column("reasoning_tokens", Integer, nullable=False, server_default="0"),
    Column("cached_tokens", Integer, nullable=False, server_default="0"),
    Column("latency_ms", Float, nullable=False, server_default="0"),
    Column("status", Integer, nullable=False),
    Column("error_kind", String(32), nullable=True),
    Index("ix_usage_records_ts", "ts"),
    Index("ix_usage_records_key_ts", "key_id", "ts"),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),  # JSON.
    Column("updated_at", Float, nullable=False),
)

seeds = Table(
    "seeds",
    metadata,
    Column("kind", String(16), nullable=False),
    Column(
        "ref", String(160), nullable=False
    ),  # What the config file seeded once (so an admin's later removal survives a restart).
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("kind", "ref", name="pk_seeds"),
)

runtime_providers = Table(
    "runtime_providers",
    metadata,
    Column("name", String(128), primary_key=True),
    Column(
        "secret", Text, nullable=False
    ),  # The provider block as JSON, encrypted whole (it holds api keys).
    Column(
        "created_at", Float, nullable=False
    ),  # Kept on replacement: the provider's place in routing order.
    Column("updated_at", Float, nullable=False),
)
