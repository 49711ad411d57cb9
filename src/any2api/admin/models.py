"""Pydantic input models of every admin operation: the admin JSON API, the CLI and the web UI validate with
them, and :func:`input_schemas` gives their JSON Schema (for UI forms; ``GET /admin/schema``).

Validation is strict (no coercion: ``"3"`` is not an integer, ``true`` is not ``1``) and unknown fields are
refused. :func:`parse` turns the first validation error into an :class:`~any2api.admin.errors.InputError`
naming the field the way the admin API always has (``accounts[3].weight: must be >= 1``).

Validation context (``parse(..., providers={...})``): ``providers``, the provider names an account or a model
alias may name (``None``: any)."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import fields as dc_fields
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from ..routing.pool_settings import STRATEGIES, PoolSettings
from .errors import InputError

EXPORT_FORMAT = "any2api-export"
EXPORT_VERSION = 1
PROXY_SCHEMES = ("http://", "https://", "socks4://", "socks5://", "socks5h://")
MIN_PLAIN_KEY = 8
"""A client key given as a plain string (DS2API style) must be at least this long."""

M = TypeVar("M", bound=BaseModel)

# -- errors -------------------------------------------------------------------------------------------------


def type_name(v: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(v), type(v).__name__)


def fail(message: str, at: str | None = None, instead: str | None = None) -> PydanticCustomError:
    """A validation error with our own message; ``at`` names a field below the one validated, ``instead``
    replaces the field's name in the error's path."""
    ctx: dict[str, str] = {"message": message}
    if at is not None:
        ctx["at"] = at
    if instead is not None:
        ctx["instead"] = instead
    return PydanticCustomError("any2api", "{message}", ctx)


def _path(prefix: str, loc: tuple[int | str, ...]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith("~"):  # "~..." are the tags of our unions, not fields
            out = f"{out}.{part}" if out else part
    return out


def _message(err: ErrorDetails) -> str:
    t = err["type"]
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    v = err.get("input")
    if t == "any2api":
        return str(ctx["message"])
    if t == "missing" or (t == "string_type" and v is None):
        return "is required"
    got = type_name(v)
    simple = {
        "int_type": f"must be an integer, got {got}",
        "float_type": f"must be a number, got {got}",
        "string_type": f"must be a string, got {got}",
        "bool_type": f"must be true or false, got {got}",
        "list_type": f"must be a list, got {got}",
        "dict_type": f"must be an object, got {got}",
        "model_type": f"must be an object, got {got}",
    }
    if t in simple:
        return simple[t]
    if t == "greater_than_equal":
        return f"must be >= {ctx['ge']}"
    if t == "greater_than":
        return f"must be > {ctx['gt']}"
    if t == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if t == "string_too_short":
        return (
            "is required"
            if ctx.get("min_length") == 1
            else f"must be at least {ctx['min_length']} characters"
        )
    if t == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"]


def input_error(e: ValidationError, path: str = "") -> InputError:
    """The first error of ``e`` as an :class:`InputError` (``path``: where the validated value sits)."""
    err = e.errors(include_url=False)[0]
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    loc = tuple(err["loc"])
    if "instead" in ctx:
        loc = (*loc[:-1], str(ctx["instead"]))
    if "at" in ctx:
        loc = (*loc, str(ctx["at"]))
    return InputError(_path(path, loc), _message(err))


def parse(model: type[M], data: object, path: str = "", **context: object) -> M:
    """Validate ``data`` as ``model``; raises :class:`InputError` naming the first bad field."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as e:
        raise input_error(e, path) from None


def _providers(info: ValidationInfo) -> set[str] | frozenset[str] | None:
    ctx = info.context
    if isinstance(ctx, dict):
        p = ctx.get("providers")
        if isinstance(p, (set, frozenset)):
            return p
    return None


# -- field types ---------------------------------------------------------------------------------------------


def _empty_is_none(v: str | None) -> str | None:
    return v or None


def _proxy(v: str | None) -> str | None:
    if v and not v.startswith(PROXY_SCHEMES):
        raise fail("must be a URL starting with http://, https:// or socks5://")
    return v or None


def _time(v: object) -> object:
    """A time as UNIX seconds or an ISO-8601 string (with a zone, or UTC)."""
    if v is None:
        return None
    if isinstance(v, bool):
        raise fail("must be a time (UNIX seconds or ISO-8601)")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise fail(f"{v!r} is not an ISO-8601 time") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    raise fail(f"must be a time (UNIX seconds or ISO-8601), got {type_name(v)}")


def _query_time(v: object) -> object:
    """A time in a query string: UNIX seconds, or ISO-8601 (an empty value: none)."""
    if v == "":
        return None
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            pass
    return _time(v)


def _query_flag(v: object) -> object:
    if isinstance(v, bool):
        return v
    s = str(v).lower()
    if s in ("", "0", "false", "no"):
        return False
    if s in ("1", "true", "yes"):
        return True
    raise fail("must be true or false")


def _model_names(v: object) -> object:
    if v is not None and (not isinstance(v, list) or not all(isinstance(m, str) and m for m in v)):
        raise fail("must be a list of model names (or null for every model)")
    return v


def _positive_days(v: object) -> object:
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
        raise fail("must be a positive number")
    return float(v) if isinstance(v, int) else v


def _known_provider(v: str, info: ValidationInfo) -> str:
    known = _providers(info)
    if known is not None and v not in known:
        listed = ", ".join(sorted(known)) or "none configured"
        raise fail(f"unknown provider {v!r} (configured: {listed})")
    return v


def _sha256_hex(v: str | None) -> str | None:
    if v is not None and (len(v) != 64 or any(c not in "0123456789abcdef" for c in v)):
        raise fail("must be a SHA-256 hex digest")
    return v


def _aliases(v: object, info: ValidationInfo) -> object:
    """Alias overrides: ``{alias: [provider/model, ...]}`` (a single string is a one-item list); ``null``
    removes an alias."""
    if not isinstance(v, dict):
        raise fail("must be an object of alias -> list of provider/model")
    known = _providers(info)
    out: dict[str, list[str] | None] = {}
    for alias, targets in v.items():
        if not isinstance(alias, str) or not alias:
            raise fail("alias names must be non-empty strings")
        if targets is None:
            out[alias] = None
            continue
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
            raise fail("must be a non-empty list of provider/model strings (or null to remove)", at=alias)
        for t in targets:
            prov, _, mid = t.partition("/")
            if not mid:
                raise fail(f"{t!r} must have the form provider/model", at=alias)
            if known is not None and prov not in known:
                raise fail(f"{t!r} names unknown provider {prov!r}", at=alias)
        out[alias] = list(targets)
    return out


def _pool(v: object) -> object:
    if not isinstance(v, dict):
        raise fail(f"must be an object, got {type_name(v)}")
    try:
        PoolSettings().merged(v, "pool")
    except ValueError as e:
        where, _, msg = str(e).partition(": ")
        raise fail(msg, at=where.removeprefix("pool.") if where != "pool" else None) from None
    return v


def _pool_schema() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in dc_fields(PoolSettings):
        if f.name == "strategy":
            props[f.name] = {"type": "string", "enum": list(STRATEGIES)}
        elif f.type == "int":
            props[f.name] = {"type": "integer", "minimum": 0}
        else:
            props[f.name] = {"type": "number", "minimum": 0}
    return {"type": "object", "properties": props, "additionalProperties": False}


def _plain_key(v: object) -> object:
    if isinstance(v, str) and len(v) < MIN_PLAIN_KEY:
        raise fail(f"a key given as a string must be at least {MIN_PLAIN_KEY} characters")
    return v


def _non_empty_accounts(v: object) -> object:
    if not isinstance(v, list) or not v:
        raise fail("must be a non-empty list of accounts")
    return v


def _login_key(v: object) -> object:
    if not isinstance(v, str) or not v:
        raise fail("the admin key is required (a string)", instead="key")
    return v


Label = Annotated[str, Field(max_length=256)]
Secret = Annotated[str, Field(max_length=8192), AfterValidator(_empty_is_none)]
Proxy = Annotated[str, Field(max_length=2048), AfterValidator(_proxy)]
Weight = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]
PerMinute = Annotated[int, Field(ge=1)]
_TIME_SCHEMA = {
    "anyOf": [{"type": "number"}, {"type": "string", "format": "date-time"}, {"type": "null"}],
    "description": "UNIX seconds or ISO-8601",
}
Time = Annotated[float | None, BeforeValidator(_time), WithJsonSchema(_TIME_SCHEMA)]
QueryTime = Annotated[float | None, BeforeValidator(_query_time), WithJsonSchema(_TIME_SCHEMA)]
QueryFlag = Annotated[bool, BeforeValidator(_query_flag), WithJsonSchema({"type": "boolean"})]
ModelNames = Annotated[
    list[str] | None,
    BeforeValidator(_model_names),
    WithJsonSchema(
        {"anyOf": [{"type": "array", "items": {"type": "string", "minLength": 1}}, {"type": "null"}]}
    ),
]
Days = Annotated[
    float | None, BeforeValidator(_positive_days), WithJsonSchema({"type": "number", "exclusiveMinimum": 0})
]
ModelAliases = Annotated[
    dict[str, list[str] | None],
    BeforeValidator(_aliases),
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    {"type": "array", "items": {"type": "string", "pattern": "^[^/]+/.+$"}, "minItems": 1},
                    {"type": "string", "pattern": "^[^/]+/.+$"},
                    {"type": "null"},
                ]
            },
            "description": "alias -> [provider/model, ...]; null removes the alias",
        }
    ),
]
PoolOverrides = Annotated[dict[str, Any], BeforeValidator(_pool), WithJsonSchema(_pool_schema())]

# -- models ---------------------------------------------------------------------------------------------------


class Input(BaseModel):
    """Strict, and refusing unknown fields with the list of known ones (an object's first check)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    check_fields: ClassVar[bool] = True

    @model_validator(mode="before")
    @classmethod
    def _an_object_of_known_fields(cls, data: object) -> object:
        if isinstance(data, BaseModel):  # already validated
            return data
        if not isinstance(data, dict):
            raise fail(f"must be an object, got {type_name(data)}")
        if cls.check_fields:
            known = cls.known_fields()
            for k in data:
                if k not in known:
                    raise fail(f"unknown field (expected one of: {', '.join(sorted(known))})", at=str(k))
        return data

    @classmethod
    def known_fields(cls) -> frozenset[str]:
        return _known_fields(cls)


@functools.cache
def _known_fields(cls: type[BaseModel]) -> frozenset[str]:
    names: set[str] = set()
    for name, f in cls.model_fields.items():
        va = f.validation_alias
        if isinstance(va, AliasChoices):
            names.update(c for c in va.choices if isinstance(c, str))
        elif isinstance(va, str):
            names.add(va)
        else:
            names.add(f.alias or name)
    return frozenset(names)


class LoginIn(Input):
    """``POST /admin/login``."""

    key: Annotated[str | None, BeforeValidator(_login_key)] = None
    admin_key: Annotated[str | None, BeforeValidator(_login_key)] = None

    @model_validator(mode="after")
    def _one_key(self) -> LoginIn:
        if self.key is None and self.admin_key is None:
            raise fail("the admin key is required (a string)", at="key")
        return self

    @property
    def secret(self) -> str:
        return self.key if self.key is not None else self.admin_key or ""


class AccountIn(Input):
    """An upstream account: a provider's credential (none for a keyless upstream) and how to use it."""

    provider: Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_known_provider)]
    api_key: Secret | None = None
    label: Label | None = None
    weight: Weight | None = None
    max_inflight: Count | None = None
    proxy: Proxy | None = None
    enabled: bool | None = None


class AccountBatch(Input):
    """``POST /admin/accounts/batch``: all valid, or none is added."""

    accounts: Annotated[list[AccountIn], BeforeValidator(_non_empty_accounts)] = Field(
        default=None, validate_default=True, json_schema_extra={"minItems": 1}
    )


class AccountPatch(Input):
    """``PATCH /admin/accounts/{id}``: the fields given are changed."""

    label: Label | None = None
    weight: Weight | None = None
    max_inflight: Count | None = None
    proxy: Proxy | None = None
    enabled: bool | None = None
    api_key: Secret | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> AccountPatch:
        if "max_inflight" in self.model_fields_set and self.max_inflight is None:
            raise fail("must be an integer >= 0", at="max_inflight")
        if "enabled" in self.model_fields_set and self.enabled is None:
            raise fail("must be true or false", at="enabled")
        return self

    def changes(self) -> dict[str, Any]:
        given = self.model_fields_set
        out: dict[str, Any] = {}
        if "label" in given:
            out["label"] = self.label or ""
        if "weight" in given:
            out["weight"] = self.weight or 1
        for name in ("max_inflight", "proxy", "enabled", "api_key"):
            if name in given:
                out[name] = getattr(self, name)
        return out


class AccountRef(Input):
    """``POST /admin/accounts/test``: an account by id (or label)."""

    id: str | None = None
    account_id: str | None = None
    label: str | None = None

    @property
    def ident(self) -> str | None:
        for v in (self.id, self.account_id, self.label):
            if v is not None:
                return v or None
        return None


class KeyIn(Input):
    """A client key's name and limits (create: unset means none; update: only the fields given change)."""

    name: Label | None = None
    models: ModelNames = Field(default=None, validation_alias=AliasChoices("models", "allowed_models"))
    expires_at: Time = None
    expires_in_days: Days = None
    rpm: PerMinute | None = None
    tpm: PerMinute | None = None
    token_budget: Count | None = None
    is_admin: bool | None = None

    @model_validator(mode="after")
    def _expiry(self) -> KeyIn:
        if self.expires_in_days is not None:
            self.expires_at = time.time() + self.expires_in_days * 86400
        return self

    @property
    def allowed_models(self) -> frozenset[str] | None:
        return frozenset(self.models) if self.models is not None else None

    @property
    def present(self) -> frozenset[str]:
        """The fields the description gave (both spellings of the model list; ``expires_at`` for
        ``expires_in_days``)."""
        given = set(self.model_fields_set)
        if "models" in given:
            given.add("allowed_models")
        if "expires_in_days" in given:
            given.add("expires_at")
        return frozenset(given)

    def settings(self) -> dict[str, Any]:
        """Every stored setting of the key (for a new key)."""
        return {
            "name": self.name or "", "allowed_models": self.allowed_models, "rpm": self.rpm, "tpm": self.tpm,
            "token_budget": self.token_budget, "expires_at": self.expires_at, "is_admin": bool(self.is_admin),
        }  # fmt: skip

    def changes(self) -> dict[str, Any]:
        """The stored settings this description changes (for an update)."""
        given = self.present
        return {k: v for k, v in self.settings().items() if k in given}


KeyOrSecret = Annotated[
    Annotated[KeyIn, Tag("~key")] | Annotated[str, BeforeValidator(_plain_key), Tag("~secret")],
    Discriminator(lambda v: "~secret" if isinstance(v, str) else "~key"),
]


class ConfigIn(Input):
    """``POST /admin/config`` (DS2API): alias and pool overrides; keys and accounts to add."""

    models: ModelAliases = Field(default_factory=dict)
    pool: PoolOverrides = Field(default_factory=dict)
    keys: list[KeyOrSecret] = Field(default_factory=list)
    accounts: list[AccountIn] = Field(default_factory=list)


class ExportedAccount(AccountIn):
    id: str | None = None
    disabled_reason: str | None = None


class ExportedKey(KeyIn):
    id: str | None = None
    hint: str | None = None
    tokens_used: Count | None = None
    revoked_at: Time = None
    key_hash: Annotated[str, Field(max_length=64), AfterValidator(_sha256_hex)] | None = None


class ExportedSettings(Input):
    models: dict[str, Any] = Field(default_factory=dict)
    pool: dict[str, Any] = Field(default_factory=dict)


def _format(v: object) -> object:
    if v is not None and v != EXPORT_FORMAT:
        raise fail(f"must be {EXPORT_FORMAT!r}")
    return v


def _version(v: object) -> object:
    if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
        raise fail(f"must be an integer, got {type_name(v)}")
    if v is not None and v != EXPORT_VERSION:
        raise fail(f"unsupported version (this gateway reads version {EXPORT_VERSION})")
    return v


class ImportDoc(Input):
    """``POST /admin/import``: an export document (``GET /admin/export``)."""

    format: Annotated[str | None, BeforeValidator(_format)] = None
    version: Annotated[int | None, BeforeValidator(_version)] = None
    exported_at: float | None = None
    secrets_included: bool | None = None
    accounts: list[ExportedAccount] = Field(default_factory=list)
    keys: list[ExportedKey] = Field(default_factory=list)
    settings: ExportedSettings = Field(default_factory=ExportedSettings)


class UsageQuery(Input):
    """``GET /admin/usage?since=&until=``: a time range (UNIX seconds or ISO-8601)."""

    check_fields: ClassVar[bool] = False
    model_config = ConfigDict(strict=True, extra="ignore")
    since: QueryTime = None
    until: QueryTime = None


class ExportQuery(Input):
    """``GET /admin/export?secrets=true``: include credentials, proxy URLs and key digests."""

    check_fields: ClassVar[bool] = False
    model_config = ConfigDict(strict=True, extra="ignore")
    secrets: QueryFlag = False


def _mode(v: object) -> object:
    if v not in ("merge", "replace"):
        raise fail("must be merge or replace")
    return v


class ImportQuery(Input):
    """``POST /admin/import?mode=merge|replace``: ``replace`` removes (accounts) or revokes (keys) what the
    document does not name."""

    check_fields: ClassVar[bool] = False
    model_config = ConfigDict(strict=True, extra="ignore")
    mode: Annotated[Literal["merge", "replace"], BeforeValidator(_mode)] = "merge"


class ProviderBlock(BaseModel):
    """A provider block, as in the config file (``POST /admin/providers``). Only its shape is described
    here: the block is validated by the config file's own parser for its type."""

    model_config = ConfigDict(extra="allow")
    name: Annotated[str, Field(min_length=1, max_length=64, pattern="^[^/]+$")]
    type: str


# -- entry points ----------------------------------------------------------------------------------------------

_ALIASES: TypeAdapter[dict[str, list[str] | None]] = TypeAdapter(ModelAliases)


def parse_model_aliases(
    value: object, providers: set[str] | frozenset[str] | None, path: str = "models"
) -> dict[str, list[str] | None]:
    try:
        return _ALIASES.validate_python(value, context={"providers": providers})
    except ValidationError as e:
        raise input_error(e, path) from None


def parse_account(
    data: object, path: str = "", providers: set[str] | frozenset[str] | None = None
) -> AccountIn:
    return parse(AccountIn, data, path, providers=providers)


def parse_key(data: object, path: str = "") -> KeyIn:
    return parse(KeyIn, data, path)


INPUTS: dict[str, type[BaseModel]] = {
    "login": LoginIn,
    "account": AccountIn,
    "account_patch": AccountPatch,
    "accounts_batch": AccountBatch,
    "account_ref": AccountRef,
    "key": KeyIn,
    "config": ConfigIn,
    "import": ImportDoc,
    "import_query": ImportQuery,
    "export_query": ExportQuery,
    "usage_query": UsageQuery,
    "provider": ProviderBlock,
}
"""Every admin input model, by the operation it describes."""


@functools.cache
def input_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every admin input (validation mode), by operation."""
    return {name: model.model_json_schema() for name, model in INPUTS.items()}
