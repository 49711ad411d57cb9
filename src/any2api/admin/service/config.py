"""The runtime configuration as a whole (DS2API's ``/admin/config``): what is there, and one request that
adds keys and accounts and changes alias and pool overrides (all validated before anything is written)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...store.accounts import AccountRow
from ...store.client_keys import KeyRow
from ...store.store import Store
from ..models import ConfigIn, KeyIn, parse
from .accounts import AccountService, AddResult
from .keys import KeyService
from .providers import ProviderEntry, ProviderService
from .settings import SettingsService


@dataclass(slots=True)
class ConfigSnapshot:
    keys: list[KeyRow]
    accounts: list[AccountRow]
    models: dict[str, list[str]]
    """The aliases in effect (config file plus overrides)."""
    model_overrides: dict[str, list[str] | None]
    pool: dict[str, Any]
    """The pool settings in effect."""
    providers: list[ProviderEntry]
    database: str
    redis: bool


@dataclass(slots=True)
class CreatedKey:
    row: KeyRow
    secret: str | None
    """The new secret (``None`` for a key whose secret the operator gave)."""


@dataclass(slots=True)
class ConfigUpdate:
    created_keys: list[CreatedKey]
    accounts: AddResult


class ConfigService:
    def __init__(
        self,
        store: Store,
        accounts: AccountService,
        keys: KeyService,
        settings: SettingsService,
        providers: ProviderService,
        redis: bool,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.keys = keys
        self.settings = settings
        self.providers = providers
        self.redis = redis

    async def snapshot(self) -> ConfigSnapshot:
        return ConfigSnapshot(
            keys=await self.keys.all(),
            accounts=await self.accounts.all(),
            models=self.settings.effective_models(),
            model_overrides=self.settings.model_overrides,
            pool=self.accounts.pool.settings.to_dict(),
            providers=self.providers.entries(),
            database=self.store.backend,
            redis=self.redis,
        )

    async def update(self, data: object) -> ConfigUpdate:
        """``{"models": {alias: [provider/model] | null}, "pool": {...}, "keys": [secret | key], "accounts":
        [account]}``; every part is optional."""
        body = parse(ConfigIn, data, providers=self.providers.names())
        given = body.model_fields_set
        models = body.models if "models" in given else None
        pool = None
        if "pool" in given:
            pool = {**self.settings.pool_overrides, **body.pool}
            self.settings.check_pool(pool)

        created: list[CreatedKey] = []
        for spec in body.keys:
            if isinstance(spec, KeyIn):
                row, secret = await self.keys.create_from(spec, publish=False)
                created.append(CreatedKey(row, secret))
            else:
                plain = await self.keys.add_secret(spec, "admin config")
                if plain is not None:
                    created.append(CreatedKey(plain, None))
        added = await self.accounts.add_many(body.accounts)
        await self.settings.update(models, pool)
        if created:
            await self.keys.reloaded_all()
        return ConfigUpdate(created, added)
