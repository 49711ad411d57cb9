"""Usage records, written in batches off the request path.

``UsageWriter`` is a Gateway usage sink: calling it appends to an in-memory buffer (no I/O); a background
task writes the buffer every ``interval`` seconds (or sooner when ``batch_size`` records wait) in one
transaction, together with each key's token total. ``close()`` writes whatever is left, so a clean shutdown
loses nothing. When the store is unreachable the records stay buffered (up to ``max_buffer``) and are
written on the next try."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from .ports import UsageRecord
from .store.store import Store
from .store.usage import UsageRow

log = logging.getLogger("any2api.usage")


def usage_row(rec: UsageRecord, ts: float | None = None) -> UsageRow:
    u = rec.usage
    return UsageRow(
        ts=ts if ts is not None else time.time(),
        key_id=rec.client.key_id,
        public_model=rec.public_model[:256],
        provider=rec.provider[:128],
        account_id=rec.account[:64],
        input_tokens=u.input_tokens if u else 0,
        output_tokens=u.output_tokens if u else 0,
        reasoning_tokens=(u.reasoning_tokens or 0) if u else 0,
        cached_tokens=(u.cache_read_tokens or 0) if u else 0,
        latency_ms=round(rec.latency_ms, 2),
        status=rec.status,
        error_kind=rec.error_kind,
    )


class UsageWriter:
    def __init__(
        self,
        store: Store,
        interval: float = 1.0,
        batch_size: int = 500,
        max_buffer: int = 200_000,
    ) -> None:
        self.store = store
        self.interval = interval
        self.batch_size = batch_size
        self.max_buffer = max_buffer
        self._buffer: deque[UsageRow] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.dropped = 0
        self.written = 0

    def __call__(self, rec: UsageRecord) -> None:
        if len(self._buffer) >= self.max_buffer:
            self._buffer.popleft()
            self.dropped += 1
            if self.dropped in (1, 100) or self.dropped % 10_000 == 0:
                log.error("usage buffer full (store unreachable?): %d records dropped so far", self.dropped)
        self._buffer.append(usage_row(rec))
        if len(self._buffer) >= self.batch_size:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-writer")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("writing usage records failed (will retry): %s", e)
                await asyncio.sleep(min(5.0, self.interval * 2))

    async def flush(self) -> int:
        """Write everything buffered now; returns how many records were written."""
        n = 0
        async with self._lock:
            while self._buffer:
                batch = [self._buffer.popleft() for _ in range(min(self.batch_size * 4, len(self._buffer)))]
                try:
                    await self._write(batch)
                except BaseException:
                    self._buffer.extendleft(reversed(batch))
                    raise
                n += len(batch)
        self.written += n
        return n

    async def _write(self, batch: list[UsageRow]) -> None:
        spent: dict[str, int] = {}
        for r in batch:
            t = r.input_tokens + r.output_tokens
            if t:
                spent[r.key_id] = spent.get(r.key_id, 0) + t
        await self.store.usage.insert_many(batch, spent)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("usage records lost at shutdown: %d", len(self._buffer))
