from tests.store.fixtures import (  # noqa: F401
    anyio_backend,
    backend,
    data_dir,
    namespace,
    pg_store_url,
    redis_cleanup,
    redis_url_or_skip,
    shared_factory,
    store,
    store_url,
)
