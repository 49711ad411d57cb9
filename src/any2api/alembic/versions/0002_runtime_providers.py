"""Runtime providers get a table of their own (they were settings entries ``provider:<name>``).

The encrypted block moves as it is (no key is needed to migrate); the settings entries are removed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PREFIX = "provider:"

_settings = sa.table(
    "settings", sa.column("key", sa.String), sa.column("value", sa.Text), sa.column("updated_at", sa.Float)
)
_providers = sa.table(
    "runtime_providers",
    sa.column("name", sa.String),
    sa.column("secret", sa.Text),
    sa.column("created_at", sa.Float),
    sa.column("updated_at", sa.Float),
)


def upgrade() -> None:
    op.create_table(
        "runtime_providers",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(_settings.c.key, _settings.c.value)).all()
    moved = []
    for key, value in rows:
        if not key.startswith(PREFIX):
            continue
        v = json.loads(value)
        if not isinstance(v, dict) or not isinstance(v.get("secret"), str):
            continue
        moved.append(
            {
                "name": key[len(PREFIX) :],
                "secret": v["secret"],
                "created_at": float(v.get("created_at") or 0.0),
                "updated_at": float(v.get("updated_at") or 0.0),
            }
        )
    if moved:
        conn.execute(sa.insert(_providers), moved)
        conn.execute(sa.delete(_settings).where(_settings.c.key.in_([PREFIX + m["name"] for m in moved])))


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_providers.c.name, _providers.c.secret, _providers.c.created_at, _providers.c.updated_at)
    ).all()
    if rows:
        conn.execute(
            sa.insert(_settings),
            [
                {
                    "key": PREFIX + name,
                    "value": json.dumps({"secret": secret, "created_at": created, "updated_at": updated}),
                    "updated_at": updated,
                }
                for name, secret, created, updated in rows
            ],
        )
    op.drop_table("runtime_providers")
