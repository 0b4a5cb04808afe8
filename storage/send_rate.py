"""The notice send rate, shared by every worker: a one-second window counted in Redis.

WeChat limits how fast an account may send; the limit is the account's, not a worker's, so the
workers draw permits from one counter. The window is the Redis server's own second (its TIME),
so the machines' clocks need not agree.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

# KEYS[1] the counter (a hash: second -> permits given); ARGV[1] permits wanted, ARGV[2] limit.
# Returns {permits granted, milliseconds left in this second}.
_ACQUIRE = """
local now = redis.call('TIME')
local second = now[1]
local wanted = tonumber(ARGV[1])
local used = tonumber(redis.call('HGET', KEYS[1], second) or '0')
local granted = math.min(wanted, math.max(0, tonumber(ARGV[2]) - used))
if granted > 0 then
  redis.call('HINCRBY', KEYS[1], second, granted)
end
if redis.call('HLEN', KEYS[1]) > 1 then
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if field ~= second then redis.call('HDEL', KEYS[1], field) end
  end
end
redis.call('PEXPIRE', KEYS[1], 2000)
return {granted, 1000 - math.floor(tonumber(now[2]) / 1000)}
"""


class SendRate:
    """At most `per_second` sends per second across all workers sharing `redis`."""

    def __init__(self, redis: aioredis.Redis, per_second: int, *,
                 key: str = "dx:notices:rate") -> None:
        if per_second < 1:
            raise ValueError("per_second must be at least 1")
        self.per_second = per_second
        self.key = key
        self._script = redis.register_script(_ACQUIRE)

    async def acquire(self, permits: int) -> None:
        """Wait until `permits` sends may go out (granted piecemeal as the windows allow)."""
        while permits > 0:
            granted, wait_ms = await self._script(keys=[self.key],
                                                  args=[permits, self.per_second])
            permits -= int(granted)
            if permits > 0:
                await asyncio.sleep(max(int(wait_ms), 1) / 1000)
