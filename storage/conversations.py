"""Per-person conversation state in Redis with message dedupe, in at most two round trips per
inbound message: `ConversationStore.claim` (dedupe + load) and `ConversationStore.commit`
(versioned save + cached reply).

The store takes and returns `flows.state.State`; how a state is written (JSON, the same shape
since the first release, so drafts saved by any earlier version still load) and under which keys
is its own business, as in aiogram's FSM storage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, assert_never

import orjson
import redis.asyncio as aioredis

from flows.state import (
    ConfirmArchive,
    ConfirmFigures,
    ConfirmRestart,
    Draft,
    LeadOffer,
    Listed,
    Pending,
    State,
)
from flows.statuses import as_status
from storage.redis_keys import PREFIX, hash_tag
from storage.redis_scripts import Script, ScriptRunner

# Stored under the message key while the first delivery is processed. The NUL byte keeps it
# from ever equalling a real reply (replies are XML/text).
PENDING = b"\x00pending"

DEFAULT_PENDING_TTL = 30  # seconds; WeChat gives up retrying after ~15 s
DEFAULT_STATE_TTL = 30 * 86400  # an abandoned questionnaire draft is kept for 30 days
DEFAULT_REPLY_TTL = 3600

# KEYS[1] state hash, KEYS[2] message key (absent for non-message saves).
# ARGV: expected version, "1" to write / "0" to delete the state, state bytes, state TTL,
#       reply bytes, reply TTL, pending marker.
# Returns the new version (0 after a delete), or nil on a version mismatch.
_COMMIT_LUA = """
local has_msg = #KEYS == 2
if has_msg then
  local cached = redis.call('GET', KEYS[2])
  if cached and cached ~= ARGV[7] then
    -- Already answered: redis-py re-sends a command after a dropped connection, so this may be
    -- our own commit arriving twice. Applying it again would run the step twice.
    return tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
  end
end
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then
  return false
end
local version = 0
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 's', ARGV[3])
  version = redis.call('HINCRBY', KEYS[1], 'v', 1)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
else
  -- Version restarts at 0. Safe: whoever still expects an older version saw a state that was
  -- either different (so its check fails) or also absent (so nothing is lost).
  redis.call('DEL', KEYS[1])
end
if has_msg then
  redis.call('SET', KEYS[2], ARGV[5], 'EX', ARGV[6])
end
return version
"""

# KEYS[1] message key, KEYS[2] state hash. ARGV: pending marker, pending TTL.
# Returns {1 if claimed now else 0, the message key's value, version, state}: one command, so
# the dedupe and the load see the same moment (and cost one round trip).
_CLAIM_LUA = """
local claimed = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])
local state = redis.call('HMGET', KEYS[2], 'v', 's')
if claimed then
  return {1, false, state[1], state[2]}
end
return {0, redis.call('GET', KEYS[1]), state[1], state[2]}
"""

_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class ConversationKeys:
    """The key schema, in one place. Every key of one person shares the Redis Cluster hash tag
    ``{p:<person>}``, so the pipeline and the Lua script touch a single slot.
    """

    prefix: str = PREFIX

    def tag(self, person: str) -> str:
        return hash_tag("p", person, prefix=self.prefix)

    def state(self, person: str) -> str:
        return f"{self.tag(person)}:state"

    def message(self, person: str, dedupe_id: str) -> str:
        if not dedupe_id:
            raise ValueError("dedupe id must not be empty")
        return f"{self.tag(person)}:msg:{dedupe_id}"


@dataclass(frozen=True)
class Claim:
    """Outcome of `ConversationStore.claim`."""

    duplicate: bool  # another delivery of this message got there first
    reply: str | None  # the cached reply once that delivery committed (None: it had none)
    pending: bool  # the first delivery is still being processed
    state: State
    version: int  # 0 when there is no state


class ConversationStore:
    """Conversation state and reply cache over a bytes-mode (``decode_responses=False``) client."""

    def __init__(self, redis: aioredis.Redis, keys: ConversationKeys | None = None) -> None:
        self.redis = redis
        self.keys = keys or ConversationKeys()
        self._scripts = ScriptRunner(redis)
        self._claim = Script(_CLAIM_LUA)
        self._commit = Script(_COMMIT_LUA)
        self._release = Script(_RELEASE_LUA)

    async def aclose(self) -> None:
        """Close the connections of the scripts (the client's own pool is the caller's)."""
        await self._scripts.aclose()

    async def load_scripts(self) -> None:
        """Load the Lua scripts now (optional): otherwise the first commit after a start or a
        server restart pays two extra round trips for EVALSHA's NOSCRIPT fallback.
        """
        async with self.redis.pipeline(transaction=False) as pipe:
            for script in (self._claim, self._commit, self._release):
                pipe.script_load(script.source)
            await pipe.execute()

    async def claim(
        self, person: str, dedupe_id: str, *, pending_ttl: int = DEFAULT_PENDING_TTL
    ) -> Claim:
        """Claim a message id and load the person's state, in one round trip."""
        keys = [self.keys.message(person, dedupe_id), self.keys.state(person)]
        claimed, cached, version, state = await self._scripts.call(self._claim, keys,
                                                                   [PENDING, pending_ttl])
        if claimed:
            return Claim(False, None, False, decode_state(state), _version(version))
        pending = cached == PENDING
        return Claim(True, None if pending else _decode_reply(cached), pending,
                     decode_state(state), _version(version))

    async def wait_reply(
        self, person: str, dedupe_id: str, *, timeout: float, interval: float = 0.025
    ) -> str | None:
        """Poll for the reply of a message another delivery is processing. None on timeout, when
        the pending marker vanished (released after a failure, or expired), or when that
        delivery had no reply.
        """
        msg_key = self.keys.message(person, dedupe_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await self.redis.get(msg_key)
            if value is None:
                return None
            if value != PENDING:
                return _decode_reply(value)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(interval, remaining))

    async def commit(
        self,
        person: str,
        dedupe_id: str,
        *,
        expected_version: int,
        state: State,
        reply: str | None,
        state_ttl: int = DEFAULT_STATE_TTL,
        reply_ttl: int = DEFAULT_REPLY_TTL,
    ) -> int | None:
        """Save `state` (an empty one deletes the key) if the stored version is still
        `expected_version`, and cache `reply` (None: no reply) under the message id, in one
        round trip.

        Returns the new version (0 after a delete), or None on a version conflict, in which case
        nothing was written: reload, re-run the step, commit again. If the message already has
        a cached reply, nothing is written and the current version is returned.
        """
        keys = [self.keys.state(person), self.keys.message(person, dedupe_id)]
        encoded = b"" if reply is None else reply.encode("utf-8")
        return await self._run_commit(keys, expected_version, state, state_ttl, encoded,
                                      reply_ttl)

    async def load(self, person: str) -> tuple[State, int]:
        """Return ``(state, version)``; an empty state and 0 when there is none. One round
        trip."""
        version, state = await self.redis.hmget(  # type: ignore[misc]  # "awaitable or value"
            self.keys.state(person), ["v", "s"])
        return decode_state(state), _version(version)

    async def save(
        self,
        person: str,
        state: State,
        expected_version: int,
        *,
        state_ttl: int = DEFAULT_STATE_TTL,
    ) -> int | None:
        """Versioned save without a message (e.g. the mini-program API); as `commit`."""
        keys = [self.keys.state(person)]
        return await self._run_commit(keys, expected_version, state, state_ttl, b"", 0)

    async def release(self, person: str, dedupe_id: str) -> bool:
        """Drop the pending marker after a failed attempt so WeChat's retry is processed afresh.
        A cached reply is never deleted. Returns whether a marker was removed.
        """
        removed = await self._scripts.call(self._release, [self.keys.message(person, dedupe_id)],
                                           [PENDING])
        return bool(removed)

    async def _run_commit(
        self,
        keys: list[str],
        expected_version: int,
        state: State,
        state_ttl: int,
        reply: bytes,
        reply_ttl: int,
    ) -> int | None:
        if expected_version < 0:
            raise ValueError(f"expected_version must be >= 0, got {expected_version}")
        if state_ttl <= 0 or (len(keys) == 2 and reply_ttl <= 0):
            raise ValueError("TTLs must be positive")  # EXPIRE 0 would delete the key
        stored = None if state.is_empty() else encode_state(state)
        args = [
            expected_version,
            b"0" if stored is None else b"1",
            stored or b"",
            state_ttl,
            reply,
            reply_ttl,
            PENDING,
        ]
        result = await self._scripts.call(self._commit, keys, args)
        return None if result is None else int(result)


def _version(raw: bytes | None) -> int:
    return 0 if raw is None else int(raw)


def _decode_reply(raw: bytes) -> str | None:
    return raw.decode("utf-8") if raw else None


# --- the state as stored ------------------------------------------------------------------------

def encode_state(state: State) -> bytes:
    """The state as compact JSON in UTF-8 (see `decode_state`): what the stdlib's compact
    `json.dumps(..., ensure_ascii=False)` wrote, byte for byte, at a fraction of the cost."""
    return orjson.dumps(_state_data(state))


def decode_state(raw: bytes | None) -> State:
    """The state `encode_state` wrote (an empty state for None)."""
    return _state_from(orjson.loads(raw) if raw else None)


def _state_data(state: State) -> dict[str, Any]:
    draft = state.draft
    return {
        "draft": None if draft is None else {
            "id": draft.id, "set_id": draft.set_id, "started_at": draft.started_at,
            "updated_at": draft.updated_at, "step": draft.step, "profile": draft.profile,
            "answers": draft.answers, "figures": draft.figures, "return_to": draft.return_to,
            "pending": None if draft.pending is None else _pending_data(draft.pending)},
        "pages": state.pages,
        "last_active": state.last_active,
        "roster_next": None if state.roster_next is None else list(state.roster_next),
        "listed": [[item.id, item.title, item.provider] for item in state.listed],
        "lead_offer": None if state.lead_offer is None else [
            state.lead_offer.solution_id, state.lead_offer.title, state.lead_offer.provider],
    }


def _state_from(data: Mapping[str, Any] | None) -> State:
    if not data:
        return State()
    raw = data.get("draft")
    draft = None if raw is None else Draft(
        id=raw["id"], set_id=raw["set_id"], started_at=raw["started_at"],
        updated_at=raw["updated_at"], step=raw["step"], profile=dict(raw["profile"]),
        answers=dict(raw["answers"]), figures=dict(raw["figures"]), return_to=raw["return_to"],
        pending=None if raw["pending"] is None else _pending_from(raw["pending"]))
    following = None
    roster_next = data.get("roster_next")
    if roster_next:
        status = as_status(str(roster_next[0]))
        following = None if status is None else (status, int(roster_next[1]))
    offer = data.get("lead_offer")  # absent from states saved before solutions were matched
    return State(draft=draft, pages=list(data.get("pages", [])),
                 last_active=int(data.get("last_active", 0)), roster_next=following,
                 listed=tuple(Listed(int(i), str(t), str(p))
                              for i, t, p in data.get("listed", ())),
                 lead_offer=None if not offer else LeadOffer(int(offer[0]), str(offer[1]),
                                                             str(offer[2])))


def _pending_data(pending: Pending) -> dict[str, Any]:
    # A "kind" field: the shape drafts have been stored in since confirmations began.
    match pending:
        case ConfirmArchive(profile=profile):
            return {"kind": "archive", "profile": dict(profile)}
        case ConfirmRestart():
            return {"kind": "restart"}
        case ConfirmFigures(code=code, key=key, figures=figures):
            return {"kind": "figures", "code": code, "key": key, "figures": dict(figures)}
        case _:
            assert_never(pending)


def _pending_from(data: Mapping[str, Any]) -> Pending:
    kind = data["kind"]
    if kind == "archive":
        return ConfirmArchive(dict(data["profile"]))
    if kind == "restart":
        return ConfirmRestart()
    if kind == "figures":
        return ConfirmFigures(data["code"], data["key"], dict(data["figures"]))
    raise ValueError(f"unknown confirmation {kind!r} in a stored draft")
