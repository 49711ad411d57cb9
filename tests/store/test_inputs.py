import time

import pytest

from any2api.store.inputs import InputError, parse_account, parse_key


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
