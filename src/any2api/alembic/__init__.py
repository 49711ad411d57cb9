"""The store's Alembic migrations (run by ``any2api.store.migrate``; ``script_location = any2api:alembic``)."""
