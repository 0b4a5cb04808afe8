"""The notice fan-out queue: a Redis Stream with one consumer group shared by every worker.

An entry names one campaign delivery (notice id, person id). Entries are acknowledged after the
delivery record is final; a worker that dies leaves its entries pending, and another worker takes
them over (XAUTOCLAIM) once they have been idle long enough. Delivering an entry twice is harmless:
the delivery record's compare-and-set decides who sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import redis.asyncio as aioredis
from redis.exceptions import ResponseError


class Entry(NamedTuple):
    entry_id: str
    notice_id: int
    person_id: str


# KEYS[1] the lease, ARGV[1] the holder, ARGV[2] its lifetime in ms: 1 when the holder has it.
_LEASE = """
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


class NoticeQueue:
    def __init__(self, redis: aioredis.Redis, *, stream: str = "dx:notices:deliveries",
                 group: str = "senders") -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
        self._lease = redis.register_script(_LEASE)

    async def plan_lease(self, notice_id: int, holder: str, *, ttl_ms: int) -> bool:
        """Take or renew the right to plan a campaign: one worker plans it at a time (the others
        would only queue the same entries again); a dead holder's lease runs out."""
        return bool(await self._lease(keys=[f"{self.stream}:plan:{notice_id}"],
                                      args=[holder, ttl_ms]))

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def add(self, notice_id: int, person_ids: Iterable[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for person_id in person_ids:
                pipe.xadd(self.stream, {"n": str(notice_id), "p": person_id})
            await pipe.execute()

    async def size(self) -> int:
        """Entries not yet acknowledged (read or not): 0 means nothing is on its way."""
        return int(await self.redis.xlen(self.stream))

    async def read(self, consumer: str, *, count: int, block_ms: int) -> list[Entry]:
        """New entries, waiting up to `block_ms` for the first (0: not at all)."""
        # XREADGROUP's BLOCK 0 waits forever; no BLOCK does not wait.
        answer = await self.redis.xreadgroup(self.group, consumer, {self.stream: ">"},
                                             count=count, block=block_ms or None)
        return [entry for _stream, items in answer or [] for entry in _entries(items)]

    async def take_over(self, consumer: str, *, min_idle_ms: int, count: int) -> list[Entry]:
        """Entries another (dead) worker read but never acknowledged."""
        answer = await self.redis.xautoclaim(self.stream, self.group, consumer,
                                             min_idle_time=min_idle_ms, start_id="0-0",
                                             count=count)
        return list(_entries(answer[1]))

    async def ack(self, entry_ids: Iterable[str]) -> None:
        ids = list(entry_ids)
        if ids:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xack(self.stream, self.group, *ids)
                pipe.xdel(self.stream, *ids)
                await pipe.execute()


def _entries(items: Iterable[tuple[bytes, dict[bytes, bytes]] | None]) -> Iterable[Entry]:
    for item in items:
        if item is None:  # deleted meanwhile
            continue
        entry_id, fields = item
        yield Entry(entry_id.decode(), int(fields[b"n"]), fields[b"p"].decode())
