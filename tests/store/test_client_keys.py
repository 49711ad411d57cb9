import time

import pytest
from sqlalchemy import select

from any2api.auth import hash_key
from any2api.store.schema import client_keys
from any2api.store.store import Store

pytestmark = pytest.mark.anyio


async def test_only_the_digest_is_stored(store: Store) -> None:
    row, secret = await store.keys.create("alice", rpm=10, allowed_models=frozenset({"m1", "m2"}))
    assert secret.startswith("sk-a2a-")
    assert len(secret) > 40
    async with store.engine.connect() as conn:
        raw = dict((await conn.execute(select(client_keys))).mappings().one())
    assert secret not in str(raw)
    assert raw["key_hash"] == hash_key(secret)
    assert raw["hint"].endswith(secret[-4:])
    assert len(raw["hint"]) < 20
    got = await store.keys.by_hash(hash_key(secret))
    assert got is not None
    assert got.id == row.id
    assert got.allowed_models == frozenset({"m1", "m2"})
    assert got.rpm == 10
    assert got.active


async def test_each_key_is_new(store: Store) -> None:
    secrets = {(await store.keys.create(f"k{i}"))[1] for i in range(5)}
    assert len(secrets) == 5
    assert len(await store.keys.all()) == 5


async def test_revoke_update_expiry_tokens(store: Store) -> None:
    row, _ = await store.keys.create("bob", token_budget=100)
    upd = await store.keys.update(row.id, rpm=5, allowed_models=None, expires_at=time.time() - 1)
    assert upd is not None
    assert upd.rpm == 5
    assert upd.allowed_models is None
    assert not upd.active
    await store.keys.add_tokens({row.id: 30})
    await store.keys.add_tokens({row.id: 12})
    got = await store.keys.get(row.id)
    assert got is not None
    assert got.tokens_used == 42
    rev = await store.keys.revoke(row.id)
    assert rev is not None
    assert rev.revoked_at is not None
    assert await store.keys.revoke(row.id) is None  # already revoked
    assert [k.id for k in await store.keys.all(include_revoked=False)] == []
    assert await store.keys.update("key_missing", rpm=1) is None
