"""Upstream accounts: add (one, a batch, a file), change, delete, test, clear a cooldown, queue status."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass

from ...routing.pool_ports import ProbeResult
from ...routing.selection import AccountState
from ...store.accounts import AccountRow, DuplicateAccountError
from ...store.store import Store
from ..errors import AdminError, InputError, invalid, not_found
from ..models import AccountBatch, AccountIn, AccountPatch, AccountRef, parse
from .ports import AccountPool

TEST_CONCURRENCY = 4

ProviderNames = Callable[[], set[str]]


@dataclass(slots=True)
class Skipped:
    index: int
    """The account's place in the input."""
    row: AccountRow
    existing_id: str
    """The stored account that already has this credential."""


@dataclass(slots=True)
class AddResult:
    added: list[AccountRow]
    skipped: list[Skipped]


def duplicate(e: DuplicateAccountError) -> AdminError:
    return AdminError(409, f"This credential is already account {e.existing_id}", "duplicate_account")


class AccountService:
    def __init__(
        self, store: Store, pool: AccountPool, providers: ProviderNames, source: str = "admin"
    ) -> None:
        self.store = store
        self.pool = pool
        self.providers = providers
        """The provider names an account may name (config and runtime providers)."""
        self.source = source
        """``source`` of the accounts this service adds (``admin``, ``cli``)."""

    # -- reading ----------------------------------------------------------------------------------------

    async def all(self) -> list[AccountRow]:
        return await self.store.accounts.all()

    async def get(self, account_id: str) -> AccountRow:
        row = await self.store.accounts.get(account_id)
        if row is None:
            raise not_found("account", account_id, "account_not_found")
        return row

    async def resolve(self, ident: str | None) -> str:
        """An account's id from its id or its label."""
        if not ident:
            raise AdminError(400, "id: the account id is required", "invalid_request", "id")
        if self.pool.state(ident) is not None or await self.store.accounts.get(ident) is not None:
            return ident
        for a in await self.store.accounts.all():
            if a.label == ident:
                return a.id
        raise not_found("account", ident, "account_not_found", "id")

    async def status(self) -> dict[str, object]:
        """The pool's view: every account's status and in-flight count, the queues."""
        return await self.pool.status()

    # -- adding -----------------------------------------------------------------------------------------

    def parse(self, data: object, path: str = "") -> AccountIn:
        return parse(AccountIn, data, path, providers=self.providers())

    def new_row(self, a: AccountIn, source: str | None = None) -> AccountRow:
        default = self.pool.settings.default_max_inflight if a.api_key else 0
        return self.store.accounts.new(
            a.provider, a.api_key, label=a.label or "", weight=a.weight or 1,
            max_inflight=a.max_inflight if a.max_inflight is not None else default, proxy=a.proxy,
            enabled=a.enabled if a.enabled is not None else True, source=source or self.source,
        )  # fmt: skip

    async def add(self, data: object) -> AccountRow:
        """One account; a credential already stored for the provider is a 409."""
        row = self.new_row(self.parse(data))
        try:
            await self.store.accounts.add(row)
        except DuplicateAccountError as e:
            raise duplicate(e) from None
        await self.pool.reload_account(row.id)
        return row

    async def add_many(self, accounts: list[AccountIn], source: str | None = None) -> AddResult:
        """Validated accounts; credentials already stored (or twice in the list) are skipped."""
        rows = [self.new_row(a, source) for a in accounts]
        added, skipped = await self.store.accounts.add_many(rows)
        if added:
            await self.pool.reload_all()
        index = {id(r): i for i, r in enumerate(rows)}
        return AddResult(added, [Skipped(index[id(r)], r, eid) for r, eid in skipped])

    async def add_batch(self, data: object) -> AddResult:
        """``{"accounts": [...]}``: all valid or none added."""
        batch = parse(AccountBatch, data, providers=self.providers())
        return await self.add_many(batch.accounts)

    async def import_list(self, data: object) -> AddResult:
        """A file's accounts: a list, or ``{"accounts": [...]}``."""
        items = data.get("accounts") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise InputError("accounts", 'the file must hold a list of accounts or {"accounts": [...]}')
        return await self.add_many([self.parse(a, f"accounts[{i}]") for i, a in enumerate(items)])

    # -- changing ---------------------------------------------------------------------------------------

    async def update(self, account_id: str, data: object) -> AccountRow:
        changes = parse(AccountPatch, data).changes()
        if not changes:
            raise invalid("Nothing to change: send label, weight, max_inflight, proxy, enabled or api_key")
        await self.pool.flush()
        try:
            row = await self.store.accounts.update(account_id, **changes)
        except DuplicateAccountError as e:
            raise duplicate(e) from None
        if row is None:
            raise not_found("account", account_id, "account_not_found")
        await self.pool.reload_account(account_id)
        return row

    async def delete(self, account_id: str) -> None:
        await self.pool.flush()
        if not await self.store.accounts.delete(account_id):
            raise not_found("account", account_id, "account_not_found")
        await self.pool.reload_account(account_id)

    async def clear_cooldown(self, account_id: str) -> AccountRow:
        if not await self.pool.clear_cooldown(account_id):
            raise not_found("account", account_id, "account_not_found")
        return await self.get(account_id)

    # -- testing ----------------------------------------------------------------------------------------

    async def test(self, data: object) -> tuple[str, ProbeResult]:
        """``{"id": ...}`` (or ``account_id``, ``label``): one tiny request, non-streamed and streamed."""
        account_id = await self.resolve(parse(AccountRef, data).ident)
        return account_id, await self.pool.test(account_id)

    async def test_many(
        self, wanted: Collection[str] = (), concurrency: int = TEST_CONCURRENCY
    ) -> list[tuple[AccountState, ProbeResult]]:
        """Test every served account (or those whose id or label is in ``wanted``), a few at a time."""
        sem = asyncio.Semaphore(concurrency)
        states = [
            s
            for s in self.pool.account_states()
            if s.served and (not wanted or s.id in wanted or s.row.label in wanted)
        ]

        async def one(s: AccountState) -> tuple[AccountState, ProbeResult]:
            async with sem:
                return s, await self.pool.test(s.id)

        return list(await asyncio.gather(*(one(s) for s in states)))
