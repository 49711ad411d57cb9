import pytest

from any2api.auth import hash_key
from any2api.config import parse_config
from any2api.store.seed import seed_from_config
from any2api.store.store import Store

pytestmark = pytest.mark.anyio

CONFIG = """
auth:
  keys: [sk-client-one, sk-client-two]
providers:
  - name: ds
    type: openai
    base_url: http://127.0.0.1:9/v1
    api_keys: [sk-up-1, sk-up-2]
  - name: local
    type: openai
    base_url: http://127.0.0.1:9/v1
"""


async def test_seed_creates_accounts_and_keys_once(store: Store) -> None:
    cfg = parse_config(CONFIG)
    rep = await seed_from_config(store, cfg, default_max_inflight=2)
    assert (rep.accounts, rep.keys) == (3, 2)
    accs = await store.accounts.all()
    assert sorted((a.provider, a.api_key, a.max_inflight, a.source) for a in accs) == [
        ("ds", "sk-up-1", 2, "config"), ("ds", "sk-up-2", 2, "config"), ("local", None, 0, "config"),
    ]  # fmt: skip
    keys = await store.keys.all()
    assert {k.key_hash for k in keys} == {hash_key("sk-client-one"), hash_key("sk-client-two")}
    again = await seed_from_config(store, cfg)
    assert (again.accounts, again.keys) == (0, 0)
    assert len(await store.accounts.all()) == 3


async def test_runtime_removals_and_edits_survive_reseeding(store: Store) -> None:
    cfg = parse_config(CONFIG)
    await seed_from_config(store, cfg)
    gone = await store.accounts.find("ds", "sk-up-1")
    assert gone is not None
    await store.accounts.delete(gone.id)
    kept = await store.accounts.find("ds", "sk-up-2")
    assert kept is not None
    await store.accounts.update(kept.id, weight=9, enabled=False)
    key = await store.keys.by_hash(hash_key("sk-client-one"))
    assert key is not None
    await store.keys.revoke(key.id)

    cfg2 = parse_config(CONFIG.replace("[sk-up-1, sk-up-2]", "[sk-up-1, sk-up-2, sk-up-3]"))
    rep = await seed_from_config(store, cfg2)
    assert (rep.accounts, rep.keys) == (1, 0)  # only the new one
    assert await store.accounts.find("ds", "sk-up-1") is None
    k2 = await store.accounts.find("ds", "sk-up-2")
    assert k2 is not None
    assert k2.weight == 9
    assert not k2.enabled
    assert await store.accounts.find("ds", "sk-up-3") is not None
    revoked = await store.keys.by_hash(hash_key("sk-client-one"))
    assert revoked is not None
    assert revoked.revoked_at is not None
