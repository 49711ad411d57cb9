import time

import pytest

from any2api.admin.errors import InputError
from any2api.admin.models import (
    INPUTS,
    AccountBatch,
    AccountPatch,
    ConfigIn,
    ImportDoc,
    LoginIn,
    input_schemas,
    parse,
    parse_account,
    parse_key,
    parse_model_aliases,
)


def test_account_ok() -> None:
    a = parse_account(
        {
            "provider": "ds",
            "api_key": "sk",
            "label": "L",
            "weight": 2,
            "max_inflight": 0,
            "proxy": "socks5://h:1",
        },
        providers={"ds"},
    )
    assert (a.provider, a.api_key, a.label, a.weight, a.max_inflight, a.proxy) == (
        "ds",
        "sk",
        "L",
        2,
        0,
        "socks5://h:1",
    )


@pytest.mark.parametrize(
    ("body", "path", "msg"),
    [
        ([], "accounts[0]", "must be an object, got a list"),
        ({}, "accounts[0].provider", "is required"),
        ({"provider": "nope"}, "accounts[0].provider", "unknown provider 'nope' (configured: ds)"),
        ({"provider": "ds", "weight": 0}, "accounts[0].weight", "must be >= 1"),
        ({"provider": "ds", "weight": "3"}, "accounts[0].weight", "must be an integer, got a string"),
        (
            {"provider": "ds", "max_inflight": True},
            "accounts[0].max_inflight",
            "must be an integer, got a boolean",
        ),
        ({"provider": "ds", "proxy": "ftp://x"}, "accounts[0].proxy", "must be a URL"),
        ({"provider": "ds", "email": "a@b"}, "accounts[0].email", "unknown field"),
        ({"provider": "ds", "enabled": "yes"}, "accounts[0].enabled", "must be true or false"),
    ],
)
def test_account_errors_name_the_field(body: object, path: str, msg: str) -> None:
    with pytest.raises(InputError) as ei:
        parse_account(body, "accounts[0]", providers={"ds"})
    assert ei.value.path == path
    assert msg in str(ei.value)


def test_key_ok_and_present_fields() -> None:
    k = parse_key({"name": "n", "models": ["a", "b"], "rpm": 3, "expires_in_days": 1})
    assert k.allowed_models == frozenset({"a", "b"})
    assert k.rpm == 3
    assert k.expires_at is not None
    assert abs(k.expires_at - (time.time() + 86400)) < 5
    assert k.present == {"name", "models", "allowed_models", "rpm", "expires_in_days", "expires_at"}
    iso = parse_key({"expires_at": "2030-01-01T00:00:00Z"})
    assert iso.expires_at == 1893456000.0


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"models": "gpt"}, "models"),
        ({"models": [1]}, "models"),
        ({"rpm": 0}, "rpm"),
        ({"tpm": -5}, "tpm"),
        ({"token_budget": 1.5}, "token_budget"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"secret": "x"}, "secret"),
    ],
)
def test_key_errors_name_the_field(body: dict[str, object], path: str) -> None:
    with pytest.raises(InputError) as ei:
        parse_key(body)
    assert ei.value.path == path


@pytest.mark.parametrize(
    ("model", "body", "path", "msg"),
    [
        (ConfigIn, {"pool": {"strategy": "random"}}, "pool.strategy", "must be one of"),
        (ConfigIn, {"pool": {"queue_size": -1}}, "pool.queue_size", "must be a non-negative integer"),
        (ConfigIn, {"models": {"x": ["nope/m"]}}, "models.x", "names unknown provider 'nope'"),
        (ConfigIn, {"models": {"x": "no-slash"}}, "models.x", "must have the form provider/model"),
        (ConfigIn, {"colour": 1}, "colour", "unknown field (expected one of: accounts, keys, models, pool)"),
        (ConfigIn, {"keys": ["sk-long-enough", "short"]}, "keys[1]", "at least 8 characters"),
        (ConfigIn, {"keys": [{"rpm": 0}]}, "keys[0].rpm", "must be >= 1"),
        (ConfigIn, {"accounts": [{"provider": "ds", "weight": 0}]}, "accounts[0].weight", "must be >= 1"),
        (AccountBatch, {}, "accounts", "must be a non-empty list of accounts"),
        (AccountBatch, {"accounts": [{"provider": "ds"}, {"provider": "ds", "weight": "x"}]}, "accounts[1].weight",
         "must be an integer, got a string"),
        (AccountPatch, {"max_inflight": None}, "max_inflight", "must be an integer >= 0"),
        (AccountPatch, {"enabled": None}, "enabled", "must be true or false"),
        (LoginIn, {"key": 123}, "key", "the admin key is required (a string)"),
        (LoginIn, {"admin_key": ""}, "key", "the admin key is required (a string)"),
        (LoginIn, {"key": "k", "extra": 1}, "extra", "unknown field"),
        (ImportDoc, {"settings": {"models": None}}, "settings.models", "must be an object, got null"),
    ],
)  # fmt: skip
def test_model_errors_name_the_field(model: type, body: object, path: str, msg: str) -> None:
    with pytest.raises(InputError) as ei:
        parse(model, body, providers={"ds"})
    assert ei.value.path == path
    assert msg in str(ei.value)
    assert str(ei.value).startswith(f"{path}: ")


def test_valid_inputs_keep_what_was_given() -> None:
    c = parse(ConfigIn, {"models": {"fast": "ds/m", "old": None}, "keys": ["sk-plain-key", {"name": "n"}]},
              providers={"ds"})  # fmt: skip
    assert c.models == {"fast": ["ds/m"], "old": None}
    assert c.model_fields_set == {"models", "keys"}
    assert c.keys[0] == "sk-plain-key"
    assert c.keys[1].name == "n"
    patch = parse(AccountPatch, {"label": None, "weight": None, "proxy": "", "api_key": ""})
    assert patch.changes() == {"label": "", "weight": 1, "proxy": None, "api_key": None}
    assert parse(LoginIn, {"admin_key": "k"}).secret == "k"
    assert parse_model_aliases({"a": ["ds/x"]}, {"ds"}) == {"a": ["ds/x"]}
    assert parse_key({"allowed_models": ["m"]}).allowed_models == frozenset({"m"})


def test_every_input_has_a_json_schema() -> None:
    schemas = input_schemas()
    assert set(schemas) == set(INPUTS)
    for name, schema in schemas.items():
        assert schema["type"] == "object", name
    assert schemas["accounts_batch"]["properties"]["accounts"]["minItems"] == 1
    assert schemas["key"]["properties"]["expires_at"]["description"] == "UNIX seconds or ISO-8601"
