"""The admin service without HTTP: what the CLI and the web UI call (on SQLite and Postgres)."""

from __future__ import annotations

import pytest

from any2api.admin.errors import AdminError, InputError
from any2api.admin.service import AccountService, KeyService, TransferService
from any2api.auth import hash_key
from any2api.config import ProviderConfig
from any2api.core.errors import GatewayError
from any2api.providers.base import Account
from any2api.routing.pool import Pool
from any2api.routing.pool_ports import ProbeResult
from any2api.store.pool_backend import StoreAccounts
from any2api.store.store import Store

pytestmark = pytest.mark.anyio


async def _accounts(store: Store, bad: frozenset[str] = frozenset()) -> AccountService:
    async def probe(account: Account) -> ProbeResult:
        if account.api_key in bad:
            return ProbeResult(False, GatewayError("authentication", "bad key", upstream_status=401))
        return ProbeResult(True, details={"model": "m"})

    pool = Pool(StoreAccounts(store.accounts), [ProviderConfig(name="ds", type="openai")], probe=probe)
    await pool.reload()
    return AccountService(store, pool, lambda: {"ds"}, source="cli")


async def test_accounts_add_change_test_and_delete(store: Store) -> None:
    svc = await _accounts(store, bad=frozenset({"sk-bad"}))
    res = await svc.import_list({"accounts": [
        {"provider": "ds", "api_key": "sk-good", "label": "good"},
        {"provider": "ds", "api_key": "sk-bad", "label": "bad", "max_inflight": 1},
        {"provider": "ds", "api_key": "sk-good"},
    ]})  # fmt: skip
    assert [r.label for r in res.added] == ["good", "bad"]
    assert [s.index for s in res.skipped] == [2]
    assert {r.source for r in res.added} == {"cli"}
    assert res.added[0].max_inflight == svc.pool.settings.default_max_inflight
    with pytest.raises(InputError) as ei:
        await svc.import_list([{"provider": "zz"}])
    assert ei.value.path == "accounts[0].provider"
    with pytest.raises(AdminError) as ae:
        await svc.add({"provider": "ds", "api_key": "sk-good"})
    assert ae.value.status == 409
    assert ae.value.code == "duplicate_account"
    assert "sk-good" not in ae.value.message

    good, bad = res.added
    assert await svc.resolve("bad") == bad.id
    changed = await svc.update(good.id, {"weight": 3, "label": "best"})
    assert (changed.weight, changed.label) == (3, "best")
    with pytest.raises(AdminError) as ae:
        await svc.update(good.id, {})
    assert ae.value.status == 400
    with pytest.raises(AdminError) as ae:
        await svc.update(bad.id, {"api_key": "sk-good"})
    assert ae.value.status == 409

    tested = {st.row.label: r for st, r in await svc.test_many()}
    assert tested["best"].ok
    assert not tested["bad"].ok
    assert (await svc.get(bad.id)).enabled is False  # rejected credentials disable the account
    account_id, result = await svc.test({"label": "best"})
    assert account_id == good.id
    assert result.ok
    with pytest.raises(AdminError) as ae:
        await svc.test({})
    assert ae.value.param == "id"

    await svc.delete(bad.id)
    with pytest.raises(AdminError) as ae:
        await svc.delete(bad.id)
    assert ae.value.status == 404
    assert ae.value.code == "account_not_found"


async def test_keys_create_update_revoke(store: Store) -> None:
    svc = KeyService(store, source="cli")
    row, secret = await svc.create({"name": "team", "models": ["m"], "rpm": 5})
    assert (await store.keys.by_hash(hash_key(secret))) is not None
    assert row.source == "cli"
    assert secret not in repr(await svc.all())
    updated = await svc.update(row.id, {"tpm": 100})
    assert (updated.tpm, updated.rpm, updated.allowed_models) == (100, 5, frozenset({"m"}))
    with pytest.raises(InputError):
        await svc.update(row.id, {"rpm": 0})
    assert (await svc.revoke(row.id))[1] is True
    assert (await svc.revoke(row.id))[1] is False
    with pytest.raises(AdminError) as ae:
        await svc.revoke("key_nope")
    assert ae.value.status == 404
    assert await svc.add_secret("sk-operator-chosen", "plain") is not None
    assert await svc.add_secret("sk-operator-chosen", "plain") is None


async def test_transfer_round_trip_through_the_service(store: Store) -> None:
    accounts = await _accounts(store)
    keys = KeyService(store)
    transfer = TransferService(store, accounts, keys)
    await accounts.add({"provider": "ds", "api_key": "sk-1", "label": "one"})
    await keys.create({"name": "k"})
    doc = await transfer.export(include_secrets=True)
    rep = await transfer.import_({"accounts": [{"provider": "ds", "api_key": "sk-2"}]}, replace=True)
    assert (rep.accounts_added, rep.accounts_removed, rep.keys_revoked) == (1, 1, 1)
    rep = await transfer.import_(doc)
    assert (rep.accounts_added, rep.keys_updated) == (1, 1)
    assert {a.label for a in await accounts.all()} == {"", "one"}
    with pytest.raises(InputError) as ei:
        await transfer.import_({"accounts": [{"provider": "zz", "api_key": "k"}]})
    assert ei.value.path == "accounts[0].provider"
