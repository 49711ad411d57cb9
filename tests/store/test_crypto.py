import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from any2api.store.crypto import SecretBox, SecretKeyError, load_master_key, mask
from any2api.store.schema import accounts
from any2api.store.store import Store


def test_roundtrip_and_ciphertext_hides_plaintext() -> None:
    box = SecretBox(b"k" * 32)
    token = box.encrypt("sk-upstream-very-secret")
    assert token is not None
    assert "sk-upstream" not in token
    assert box.decrypt(token) == "sk-upstream-very-secret"
    assert box.encrypt("same") != box.encrypt("same")  # fresh nonce each time
    assert box.encrypt(None) is None
    assert box.decrypt(None) is None


def test_other_key_cannot_decrypt() -> None:
    token = SecretBox(b"a" * 32).encrypt("x")
    with pytest.raises(SecretKeyError, match="not the one"):
        SecretBox(b"b" * 32).decrypt(token)


def test_fingerprint_is_keyed() -> None:
    a, b = SecretBox(b"a" * 32), SecretBox(b"b" * 32)
    assert a.fingerprint("sk-1") == a.fingerprint("sk-1") != a.fingerprint("sk-2")
    assert a.fingerprint("sk-1") != b.fingerprint("sk-1")


def test_key_file_created_once_with_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANY2API_SECRET_KEY", raising=False)
    k1 = load_master_key(tmp_path)
    path = tmp_path / "secret.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_master_key(tmp_path) == k1
    assert len(k1) == 32


def test_env_key_wins_and_any_string_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANY2API_SECRET_KEY", "correct horse battery staple")
    k = load_master_key(tmp_path)
    assert len(k) == 32
    assert not (tmp_path / "secret.key").exists()


def test_mask() -> None:
    assert mask("sk-abcdefghijklmnop") == "sk-...mnop"
    assert mask("short") == "*****"
    assert mask(None) is None


@pytest.mark.anyio
async def test_secrets_are_encrypted_in_the_database(store: Store) -> None:
    row = store.accounts.new("p", "sk-live-0123456789", proxy="http://user:pw@proxy:8080")
    await store.accounts.add(row)
    async with store.engine.connect() as conn:
        raw = (await conn.execute(select(accounts))).mappings().one()
    assert "sk-live" not in str(dict(raw))
    assert "user:pw" not in str(dict(raw))
    got = await store.accounts.get(row.id)
    assert got is not None
    assert got.api_key == "sk-live-0123456789"
    assert got.proxy == "http://user:pw@proxy:8080"


@pytest.mark.anyio
async def test_open_with_the_wrong_key_fails_clearly(
    store_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await Store.open(store_url)
    await s.close()
    monkeypatch.setenv("ANY2API_SECRET_KEY", "a different key")
    with pytest.raises(SecretKeyError, match="not the one this store"):
        await Store.open(store_url)
