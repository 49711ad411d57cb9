"""Initial schema: accounts, client keys, usage records, settings, seeds.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("provider", sa.String(128), nullable=False),
        sa.Column("label", sa.String(256), nullable=False, server_default=""),
        sa.Column("secret", sa.Text, nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("weight", sa.Integer, nullable=False, server_default="1"),
        sa.Column("max_inflight", sa.Integer, nullable=False, server_default="2"),
        sa.Column("proxy", sa.Text, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("disabled_reason", sa.Text, nullable=True),
        sa.Column("disabled_by", sa.String(16), nullable=True),
        sa.Column("cooldown_until", sa.Float, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_used", sa.Float, nullable=True),
        sa.Column("source", sa.String(16), nullable=False, server_default="admin"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("provider", "fingerprint", name="uq_accounts_provider_fingerprint"),
    )
    op.create_index("ix_accounts_provider", "accounts", ["provider"])
    op.create_table(
        "client_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, server_default=""),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("hint", sa.String(32), nullable=False, server_default=""),
        sa.Column("allowed_models", sa.Text, nullable=True),
        sa.Column("rpm", sa.Integer, nullable=True),
        sa.Column("tpm", sa.Integer, nullable=True),
        sa.Column("token_budget", sa.BigInteger, nullable=True),
        sa.Column("tokens_used", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("expires_at", sa.Float, nullable=True),
        sa.Column("revoked_at", sa.Float, nullable=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("source", sa.String(16), nullable=False, server_default="admin"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("key_hash", name="uq_client_keys_key_hash"),
    )
    op.create_table(
        "usage_records",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("public_model", sa.String(256), nullable=False),
        sa.Column("provider", sa.String(128), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cached_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("latency_ms", sa.Float, nullable=False, server_default="0"),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("error_kind", sa.String(32), nullable=True),
    )
    op.create_index("ix_usage_records_ts", "usage_records", ["ts"])
    op.create_index("ix_usage_records_key_ts", "usage_records", ["key_id", "ts"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "seeds",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(160), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("kind", "ref", name="pk_seeds"),
    )


def downgrade() -> None:
    op.drop_table("seeds")
    op.drop_table("settings")
    op.drop_index("ix_usage_records_key_ts", table_name="usage_records")
    op.drop_index("ix_usage_records_ts", table_name="usage_records")
    op.drop_table("usage_records")
    op.drop_table("client_keys")
    op.drop_index("ix_accounts_provider", table_name="accounts")
    op.drop_table("accounts")
