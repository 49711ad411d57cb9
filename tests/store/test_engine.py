from pathlib import Path

import pytest

from any2api.store.engine import StoreURLError, default_url, normalize_url


def test_sqlite_url_gets_async_driver_and_parent_dir(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir" / "x.db"
    u, schema = normalize_url(f"sqlite:///{target}")
    assert u.drivername == "sqlite+aiosqlite"
    assert schema is None
    assert target.parent.is_dir()


def test_postgres_url_gets_asyncpg_and_schema_is_taken_out() -> None:
    u, schema = normalize_url("postgresql://u:pw@127.0.0.1:5432/db?schema=tenant_1")
    assert u.drivername == "postgresql+asyncpg"
    assert schema == "tenant_1"
    assert "schema" not in u.query
    u2, _ = normalize_url("postgres://u@h/db")
    assert u2.drivername == "postgresql+asyncpg"


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("postgresql://u@h/db?schema=x;drop", "not a plain identifier"),
        ("::not a url::", "not a valid database URL"),
    ],
)
def test_bad_urls_are_named(url: str, needle: str) -> None:
    with pytest.raises(StoreURLError, match=needle):
        normalize_url(url)


def test_default_is_sqlite_file_in_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANY2API_DATA_DIR", str(tmp_path / "d"))
    url = default_url()
    assert url.startswith("sqlite+aiosqlite:///")
    assert url.endswith(str((tmp_path / "d" / "any2api.db").resolve()))
    assert (tmp_path / "d").is_dir()
