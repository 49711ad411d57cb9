"""Every admin operation, used by the admin JSON API (``admin/routes.py``), the CLI (``cli_admin.py``) and
the web UI. Operations take raw input (JSON-like values), validate it with :mod:`any2api.admin.models`
(raising :class:`~any2api.admin.errors.InputError`), refuse what cannot be done with
:class:`~any2api.admin.errors.AdminError`, and return store rows or small result objects, which
:mod:`any2api.admin.views` renders.

- ``session``: admin login and request authorization;
- ``accounts``: upstream accounts (add, batch, import a file, change, delete, test, clear cooldown, status);
- ``keys``: client keys (create, change, revoke);
- ``providers``: runtime providers (create, replace, delete, list; applied without a restart);
- ``settings``: alias and pool overrides;
- ``config``: the DS2API ``/admin/config`` view and update;
- ``transfer``: export and import;
- ``usage``: usage totals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ...config import Config
from ...routing.pool_settings import PoolSettings
from ...store.shared import Shared
from ...store.store import Store
from ..security import AdminTokens, LoginLimiter
from .accounts import AccountService, AddResult, Skipped
from .config import ConfigService, ConfigSnapshot, ConfigUpdate, CreatedKey
from .keys import KeyService
from .ports import AliasTable, KeyCache, ProviderHost, ProviderPool
from .providers import ProviderEntry, ProviderService
from .session import SessionService
from .settings import SettingsService
from .transfer import ImportReport, TransferService
from .usage import UsageReport, UsageService


@dataclass(slots=True)
class AdminService:
    session: SessionService
    accounts: AccountService
    keys: KeyService
    providers: ProviderService
    settings: SettingsService
    config: ConfigService
    transfer: TransferService
    usage: UsageService

    @classmethod
    def build(
        cls,
        *,
        store: Store,
        config: Config,
        gateway: ProviderHost,
        router: AliasTable,
        pool: ProviderPool,
        keys: KeyCache,
        shared: Shared | None,
        base_pool: PoolSettings,
        flush_usage: Callable[[], Awaitable[object]] | None = None,
    ) -> AdminService:
        """The admin service of a running gateway."""
        tokens = AdminTokens(
            store.box.jwt_key(config.admin_key) if config.admin_key else None, config.admin_key
        )
        providers = ProviderService(store, config, gateway, pool, shared)
        accounts = AccountService(store, pool, providers.names)
        key_service = KeyService(store, keys, shared)
        settings = SettingsService(store, config, base_pool, pool, keys, router, shared, providers.names)
        return cls(
            session=SessionService(tokens, LoginLimiter(shared), keys),
            accounts=accounts,
            keys=key_service,
            providers=providers,
            settings=settings,
            config=ConfigService(store, accounts, key_service, settings, providers, shared is not None),
            transfer=TransferService(store, accounts, key_service, settings),
            usage=UsageService(store, flush_usage),
        )


__all__ = [
    "AccountService",
    "AddResult",
    "AdminService",
    "ConfigService",
    "ConfigSnapshot",
    "ConfigUpdate",
    "CreatedKey",
    "ImportReport",
    "KeyService",
    "ProviderEntry",
    "ProviderService",
    "SessionService",
    "SettingsService",
    "Skipped",
    "TransferService",
    "UsageReport",
    "UsageService",
]
