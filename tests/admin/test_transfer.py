import pytest

from any2api.admin.errors import InputError
from any2api.admin.service.transfer import export_all, import_all
from any2api.auth import hash_key
from any2api.store.store import Store

pytestmark = pytest.mark.anyio


async def _populate(store: Store) -> str:
    await store.accounts.add(
        store.accounts.new("ds", "sk-up-1", label="one", weight=2, proxy="http://u:p@h:1")
    )
    await store.accounts.add(store.accounts.new("ds", "sk-up-2", label="two", enabled=False))
    row, secret = await store.keys.create("alice", rpm=5, allowed_models=frozenset({"m"}))
    await store.keys.add_tokens({row.id: 77})
    await store.settings.put("models", {"fast": ["ds/x"]})
    return secret


async def test_export_hides_secrets_unless_asked(store: Store) -> None:
    await _populate(store)
    plain = await export_all(store)
    text = str(plain)
    assert "sk-up-1" not in text
    assert "u:p@" not in text
    assert "key_hash" not in text
    assert plain["secrets_included"] is False
    assert [a["label"] for a in plain["accounts"]] == ["one", "two"]
    assert plain["keys"][0]["rpm"] == 5
    assert plain["keys"][0]["tokens_used"] == 77
    assert plain["settings"] == {"models": {"fast": ["ds/x"]}}
    full = await export_all(store, include_secrets=True)
    assert {a["api_key"] for a in full["accounts"]} == {"sk-up-1", "sk-up-2"}
    assert full["keys"][0]["key_hash"]


async def test_import_with_secrets_rebuilds_another_store(store: Store, tmp_path: object) -> None:
    secret = await _populate(store)
    doc = await export_all(store, include_secrets=True)
    # wipe and restore into the same (now empty) store
    for a in await store.accounts.all():
        await store.accounts.delete(a.id)
    await store.settings.delete("models")
    k = await store.keys.by_hash(hash_key(secret))
    assert k is not None
    rep = await import_all(store, doc, providers={"ds"})
    assert (rep.accounts_added, rep.keys_updated, rep.keys_added) == (2, 1, 0)
    accs = {a.label: a for a in await store.accounts.all()}
    assert accs["one"].api_key == "sk-up-1"
    assert accs["one"].proxy == "http://u:p@h:1"
    assert accs["one"].weight == 2
    assert accs["two"].enabled is False
    assert await store.settings.get("models") == {"fast": ["ds/x"]}
    # importing again changes nothing new
    rep2 = await import_all(store, doc, providers={"ds"})
    assert (rep2.accounts_added, rep2.accounts_updated) == (0, 2)


async def test_import_new_key_by_digest_keeps_it_working(store: Store) -> None:
    doc = {
        "format": "any2api-export", "version": 1,
        "keys": [{"id": "key_imported", "name": "bob", "key_hash": hash_key("sk-bob"), "rpm": 9, "tokens_used": 5}],
    }  # fmt: skip
    rep = await import_all(store, doc)
    assert rep.keys_added == 1
    got = await store.keys.by_hash(hash_key("sk-bob"))
    assert got is not None
    assert got.id == "key_imported"
    assert got.rpm == 9
    assert got.tokens_used == 5


async def test_export_without_secrets_updates_but_cannot_create(store: Store) -> None:
    await _populate(store)
    doc = await export_all(store)
    doc["accounts"][0]["weight"] = 5
    doc["accounts"].append({"provider": "ds", "label": "brand-new"})
    doc["keys"].append({"name": "ghost"})
    rep = await import_all(store, doc, providers={"ds"})
    assert rep.accounts_updated == 2
    assert rep.accounts_added == 0
    assert len(rep.skipped) == 2
    assert {a.label: a.weight for a in await store.accounts.all()}["one"] == 5


async def test_replace_removes_what_the_file_does_not_name(store: Store) -> None:
    await _populate(store)
    doc = {"accounts": [{"provider": "ds", "api_key": "sk-up-9", "label": "nine"}], "keys": []}
    rep = await import_all(store, doc, replace=True, providers={"ds"})
    assert (rep.accounts_added, rep.accounts_removed, rep.keys_revoked) == (1, 2, 1)
    assert [a.label for a in await store.accounts.all()] == ["nine"]
    assert all(k.revoked_at is not None for k in await store.keys.all())


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"format": "other"}, "format"),
        ({"version": 7}, "version"),
        ({"accounts": {}}, "accounts"),
        ({"accounts": [{"provider": "zz", "api_key": "k"}]}, "accounts[0].provider"),
        ({"keys": [{"rpm": "x"}]}, "keys[0].rpm"),
        ({"keys": [{"key_hash": "abc"}]}, "keys[0].key_hash"),
        ({"settings": {"colour": 1}}, "settings.colour"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_documents_name_the_field(store: Store, doc: dict[str, object], path: str) -> None:
    with pytest.raises(InputError) as ei:
        await import_all(store, doc, providers={"ds"})
    assert ei.value.path == path
    assert await store.accounts.all() == []
