import time

import pytest

from any2api.store.accounts import DuplicateAccountError
from any2api.store.store import Store

pytestmark = pytest.mark.anyio


async def test_add_get_find_list(store: Store) -> None:
    a = await store.accounts.add(store.accounts.new("ds", "sk-a", label="A", weight=3, max_inflight=5))
    b = await store.accounts.add(store.accounts.new("ds", "sk-b", label="B"))
    c = await store.accounts.add(store.accounts.new("other", None, label="keyless", max_inflight=0))
    got = await store.accounts.get(a.id)
    assert got is not None
    assert (got.provider, got.api_key, got.label, got.weight, got.max_inflight, got.enabled) == (
        "ds", "sk-a", "A", 3, 5, True,
    )  # fmt: skip
    assert (await store.accounts.find("ds", "sk-b")).id == b.id  # type: ignore[union-attr]
    assert (await store.accounts.find("other", None)).id == c.id  # type: ignore[union-attr]
    assert await store.accounts.find("ds", "sk-zzz") is None
    assert [r.id for r in await store.accounts.all()] == [a.id, b.id, c.id]
    assert [r.id for r in await store.accounts.all("ds")] == [a.id, b.id]


async def test_same_credential_twice_is_a_duplicate_but_not_across_providers(store: Store) -> None:
    a = await store.accounts.add(store.accounts.new("ds", "sk-a"))
    with pytest.raises(DuplicateAccountError) as ei:
        await store.accounts.add(store.accounts.new("ds", "sk-a", label="again"))
    assert ei.value.existing_id == a.id
    await store.accounts.add(store.accounts.new("other", "sk-a"))
    assert len(await store.accounts.all()) == 2


async def test_add_many_skips_existing_and_repeated(store: Store) -> None:
    first = await store.accounts.add(store.accounts.new("ds", "sk-1"))
    rows = [store.accounts.new("ds", k) for k in ("sk-1", "sk-2", "sk-3", "sk-2")]
    added, skipped = await store.accounts.add_many(rows)
    assert [r.api_key for r in added] == ["sk-2", "sk-3"]
    assert [(r.api_key, eid) for r, eid in skipped] == [("sk-1", first.id), ("sk-2", added[0].id)]
    assert len(await store.accounts.all()) == 3


async def test_update_enable_disable_and_secret(store: Store) -> None:
    a = await store.accounts.add(store.accounts.new("ds", "sk-a"))
    off = await store.accounts.update(a.id, enabled=False)
    assert off is not None
    assert off.enabled is False
    assert off.disabled_by == "admin"
    on = await store.accounts.update(a.id, enabled=True, weight=7, label="renamed", proxy="http://p:1")
    assert on is not None
    assert on.enabled
    assert on.disabled_by is None
    assert on.disabled_reason is None
    assert (on.weight, on.label, on.proxy) == (7, "renamed", "http://p:1")
    new = await store.accounts.update(a.id, api_key="sk-new")
    assert new is not None
    assert new.api_key == "sk-new"
    assert (await store.accounts.find("ds", "sk-new")).id == a.id  # type: ignore[union-attr]
    assert await store.accounts.update("acc_missing", weight=2) is None


async def test_save_health_and_delete(store: Store) -> None:
    a = await store.accounts.add(store.accounts.new("ds", "sk-a"))
    a.enabled = False
    a.disabled_by = "health"
    a.disabled_reason = "HTTP 401"
    a.cooldown_until = time.time() + 60
    a.failures = 4
    a.last_error = "boom"
    await store.accounts.save_health(a)
    got = await store.accounts.get(a.id)
    assert got is not None
    assert (got.enabled, got.disabled_by, got.disabled_reason, got.failures, got.last_error) == (
        False, "health", "HTTP 401", 4, "boom",
    )  # fmt: skip
    assert got.cooldown_until == pytest.approx(a.cooldown_until)
    assert await store.accounts.delete(a.id) is True
    assert await store.accounts.delete(a.id) is False
    assert await store.accounts.get(a.id) is None
