import pytest

from any2api.store.store import Store

pytestmark = pytest.mark.anyio


async def test_put_get_values_delete(store: Store) -> None:
    assert await store.settings.get("models") is None
    assert await store.settings.get("models", {}) == {}
    await store.settings.put("models", {"a": ["p/m"]})
    await store.settings.put("models", {"b": ["p/n"]})
    await store.settings.put("pool", {"strategy": "weighted"})
    assert await store.settings.get("models") == {"b": ["p/n"]}
    vals = await store.settings.values()
    assert vals["pool"] == {"strategy": "weighted"}
    assert vals["models"] == {"b": ["p/n"]}
    await store.settings.delete("pool")
    assert await store.settings.get("pool") is None


async def test_seeds_are_recorded_once(store: Store) -> None:
    await store.settings.mark_seeded("account", ["a", "b", "a"])
    await store.settings.mark_seeded("account", ["b", "c"])
    assert await store.settings.seeded("account") == {"a", "b", "c"}
    assert await store.settings.seeded("key") == set()
