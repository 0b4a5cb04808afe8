"""The enterprise archive on SQLite and PostgreSQL: migrations, exact round trips, upserts,
history, idempotent submits (also racing ones), subscriptions."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import TextClause, bindparam, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from flows.answers import check_answers
from flows.i18n import PLAIN
from flows.indicators import IndicatorSet, builtin_sets
from flows.results import assessment_data
from flows.scoring import Assessment, assess
from storage import archive, deliveries
from storage.archive import (
    Profile,
    SubmissionRecord,
    _submission_values,
    enterprise_profile,
    latest_results,
    person_key,
    record_submission,
    set_subscribed,
    touch_person,
)
from storage.db import alembic_config, create_engine, migrate, session_factory
from storage.models import Base, Enterprise, Person, Submission
from storage.types import UTCDateTime
from tests.db_fixtures import EmptyDatabase

Sessions = async_sessionmaker[AsyncSession]

T0 = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
CODE_A = "91370100MA3C5YFX1K"
CODE_B = "91370200163562681G"
ALICE = person_key("oa", "o-alice")
BOB = person_key("oa", "o-bob")
PROFILE_A = Profile(name="济南明湖机械有限公司", credit_code=CODE_A, city="济南市", county="历下区",
                    industry="C", industry_division="C34", employees=120)
PROFILE_B = Profile(name="青岛海风食品有限公司", credit_code=CODE_B, city="青岛市", county="黄岛区",
                    industry="C", industry_division=None, employees=None)


def make_record(draft_id: str = "d1", *, person_id: str = ALICE, profile: Profile = PROFILE_A,
                at: datetime = T0, total: str = "35.1", level: int = 1) -> SubmissionRecord:
    dimensions = {"foundation": Decimal("20.35"), "management": Decimal("6.75"),
                  "effectiveness": Decimal(total) - Decimal("27.1")}
    return SubmissionRecord(
        draft_id=draft_id,
        person_id=person_id,
        channel="oa",
        indicator_set="miit-2024",
        profile=profile,
        answers={"B1": ["B", "D"], "B2": "C", "S01": 2},
        figures={"devices_total": Decimal("120"), "revenue": Decimal("1234.5"),
                 "tiny": Decimal("0.0000001"), "huge": Decimal("999999999999999.99")},
        total=Decimal(total),
        dimensions=dimensions,
        level=level,
        level_name="一级",
        scene_levels={"S02": 1, "S01": 2},
        result={"total": Decimal(total), "dimensions": dimensions, "level": level,
                "groups": [{"title": "设备系统", "score": Decimal("1.875")}], "next_level": None},
        started_at=at - timedelta(minutes=12),
        submitted_at=at,
    )


async def count(sessions: Sessions, model: type[Base]) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def person(sessions: Sessions, person_id: str) -> Person | None:
    async with sessions() as session:
        return await session.get(Person, person_id)


def scored_record(iset: IndicatorSet, assessment: Assessment, *, draft_id: str,
                  answers: Mapping[str, Any], figures: Mapping[str, Decimal]) -> SubmissionRecord:
    """The record of a scored answer set; `answers` as `flows.answers.check_answers` gives."""
    return SubmissionRecord(
        draft_id=draft_id, person_id=ALICE, channel="oa", indicator_set=assessment.set_id,
        profile=PROFILE_A,
        answers={k: list(v) if isinstance(v, tuple) else v for k, v in answers.items()},
        figures=dict(figures), total=assessment.total, dimensions=dict(assessment.dimensions),
        level=assessment.level, level_name=assessment.level_name,
        scene_levels=dict(assessment.scene_levels),
        result=assessment_data(iset, assessment, PLAIN), started_at=None, submitted_at=T0)


async def load_submission(sessions: Sessions, draft_id: str) -> SubmissionRecord | None:
    """The full record stored for `draft_id` (answers, figures, profile…), or None: what the
    archive keeps, read back column by column."""
    async with sessions() as session:
        row = (await session.execute(
            select(Submission).where(Submission.draft_id == draft_id))).scalar_one_or_none()
        if row is None:
            return None
        return SubmissionRecord(
            draft_id=row.draft_id,
            person_id=row.person_id,
            channel=row.channel,
            indicator_set=row.indicator_set,
            profile=Profile(**row.profile),
            answers=row.answers,
            figures={name: Decimal(text) for name, text in row.figures.items()},
            total=row.total,
            dimensions={name: getattr(row, name) for name in archive.DIMENSIONS},
            level=row.level,
            level_name=row.level_name,
            scene_levels=row.scene_levels,
            result=row.result,
            started_at=row.started_at,
            submitted_at=row.submitted_at,
            subject_id=None if row.subject_id == row.person_id else row.subject_id,
        )


# --- migrations ---


async def test_migrate_empty_database_twice(db_engine: AsyncEngine) -> None:
    await migrate(db_engine)
    await migrate(db_engine)  # already at head: nothing to do, no error
    async with db_engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        version = (await connection.execute(text("SELECT version_num FROM alembic_version"))
                   ).scalar_one()
    assert tables == {"alembic_version", "enterprises", "persons", "submissions",
                      "subscribe_consents", "notices", "notice_deliveries",
                      "notice_registrations", "draft_activity", "commissioners",
                      "enterprise_nudges", "api_tokens", "providers", "solutions",
                      "pool_version", "leads", "projects", "report_links"}
    assert version == "0013"


def at_times(sql: str) -> TextClause:
    """Raw SQL whose `:t` is a datetime stored the way the models store it (SQLite: ISO text).

    Never sqlite3's own datetime adapter: it is deprecated since Python 3.12.
    """
    return text(sql).bindparams(bindparam("t", type_=UTCDateTime()))


def upgrade_to(revision: str) -> Any:
    """A `run_sync` callable that migrates the connection's database to `revision`."""
    def run(connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return run


async def test_upgrade_from_0001_keeps_submissions_as_their_own_subject(
    db_engine: AsyncEngine,
) -> None:
    async with db_engine.begin() as connection:
        await connection.run_sync(upgrade_to("0001"))
        await connection.execute(at_times(
            "INSERT INTO enterprises (id, credit_code, name, city, county, industry, "
            "created_at, updated_at) VALUES (1, :code, 'x', '济南市', '历下区', 'C', :t, :t)"),
            {"code": CODE_A, "t": T0})
        await connection.execute(at_times(
            "INSERT INTO submissions (draft_id, enterprise_id, person_id, channel, indicator_set,"
            " answers, figures, profile, total, foundation, management, effectiveness, level,"
            " level_name, scene_levels, result, submitted_at) VALUES ('old', 1, :p, 'oa',"
            " 'miit-2024', '{}', '{}', '{\"name\": \"x\"}', 0, 0, 0, 0, 0, '未达一级', '{}',"
            " '{}', :t)"), {"p": ALICE, "t": T0})
    await migrate(db_engine)
    sessions = session_factory(db_engine)
    [old] = await latest_results(sessions, subject_id=ALICE)
    assert old.credit_code == CODE_A


async def test_upgrade_from_0005_keeps_deliveries_as_campaign_messages(
    db_engine: AsyncEngine,
) -> None:
    async with db_engine.begin() as connection:
        await connection.run_sync(upgrade_to("0005"))
        await connection.execute(at_times(
            "INSERT INTO notices (id, kind, title, body, starts_at, audience, status, planned,"
            " created_at, updated_at) VALUES (1, 'training', 't', 'b', :t, '{}', 'sent', :f,"
            " :t, :t)"), {"t": T0, "f": False})
        await connection.execute(at_times(
            "INSERT INTO notice_deliveries (notice_id, person_id, status, attempts, updated_at)"
            " VALUES (1, :p, 'sent', 1, :t)"), {"p": ALICE, "t": T0})
    await migrate(db_engine)
    sessions = session_factory(db_engine)
    assert await deliveries.counts(sessions, 1) == {"sent": 1}
    assert await deliveries.counts_by_purpose(sessions, 1) == {"notice": {"sent": 1}}


async def test_migrated_schema_matches_models(db_engine: AsyncEngine) -> None:
    await migrate(db_engine)

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with db_engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_migrate_by_url_creates_the_sqlite_directory(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/new/dir/dxbot.sqlite3"
    await migrate(url)
    await migrate(url)
    assert (tmp_path / "new" / "dir" / "dxbot.sqlite3").is_file()


async def test_foreign_keys_are_enforced(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(IntegrityError):
            await session.execute(insert(Submission).values(
                {**_submission_values(make_record()), "enterprise_id": 999}))


# --- recording and reading back ---


async def test_record_and_read_back_exactly(sessions: Sessions) -> None:
    record = make_record()
    stored = await record_submission(sessions, record)

    assert stored.credit_code == CODE_A
    assert stored.enterprise_name == PROFILE_A.name
    assert stored.indicator_set == "miit-2024"
    # Same digits, not merely equal values (no 35.1000, no float noise).
    assert str(stored.total) == "35.1"
    assert {k: str(v) for k, v in stored.dimensions.items()} == {
        "foundation": "20.35", "management": "6.75", "effectiveness": "8"}
    assert (stored.level, stored.level_name) == (1, "一级")
    assert stored.submitted_at == T0 and stored.submitted_at.tzinfo == UTC
    assert stored.result == {"total": Decimal("35.1"), "level": 1, "next_level": None,
                             "dimensions": record.dimensions,
                             "groups": [{"title": "设备系统", "score": Decimal("1.875")}]}
    assert type(stored.result["total"]) is Decimal

    loaded = await load_submission(sessions, "d1")
    assert loaded == record
    assert str(loaded.figures["revenue"]) == "1234.5"
    assert str(loaded.figures["huge"]) == "999999999999999.99"  # beyond a float's digits
    assert list(loaded.scene_levels) == ["S02", "S01"]  # key order kept
    assert await load_submission(sessions, "nope") is None


async def test_record_of_a_real_assessment_round_trips(sessions: Sessions) -> None:
    iset = builtin_sets()["miit-2024"]
    raw = {"B1": ["B", "D"], "B2": "C", "B3": "B", "B4": list("BCDEFG"), "B5": "C",
           "B6": ["B"], "B7": ["B", "C"], "M1": "C", "M2": ["B"], "M3": ["B", "C"], "M4": "B",
           "R1": "B", "R2": "B", "R3": "A", "R4": "B",
           **{scene.code: i % 3 for i, scene in enumerate(iset.scenes)}}
    answers, figures, problems = check_answers(iset, raw)
    assert problems == []
    assessment = assess(iset, answers)
    record = scored_record(iset, assessment, draft_id="real", answers=answers,
                           figures=figures)

    stored = await record_submission(sessions, record)

    assert stored.total == assessment.total and stored.level == assessment.level
    assert stored.dimensions == dict(assessment.dimensions)
    assert stored.result == assessment_data(iset, assessment, PLAIN)
    loaded = await load_submission(sessions, "real")
    assert loaded is not None and loaded.answers["B1"] == ["B", "D"]
    assert loaded.started_at is None
    assert loaded.scene_levels == dict(assessment.scene_levels)


async def test_datetimes_come_back_in_utc(sessions: Sessions) -> None:
    shanghai = timezone(timedelta(hours=8))
    record = dataclasses.replace(make_record(), submitted_at=T0.astimezone(shanghai))
    stored = await record_submission(sessions, record)
    assert stored.submitted_at == T0 and stored.submitted_at.utcoffset() == timedelta(0)


async def test_refuses_values_it_cannot_store_exactly(sessions: Sessions) -> None:
    with pytest.raises(StatementError, match="more than 4 decimal places"):
        await record_submission(sessions, make_record(total="35.12345"))
    naive = dataclasses.replace(make_record("d2"), submitted_at=T0.replace(tzinfo=None))
    with pytest.raises(StatementError, match="naive datetime"):
        await record_submission(sessions, naive)
    # Nothing half-written: the whole submission is one transaction.
    assert await count(sessions, Submission) == 0
    assert await count(sessions, Enterprise) == 0


async def test_person_id_must_carry_the_channel(sessions: Sessions) -> None:
    with pytest.raises(ValueError, match="oa:<openid>"):
        await record_submission(sessions, make_record(person_id="mp:o-alice"))


# --- enterprises ---


async def test_enterprise_profile_unknown_code(sessions: Sessions) -> None:
    assert await enterprise_profile(sessions, CODE_B) is None


async def test_upsert_updates_the_enterprise_profile(sessions: Sessions) -> None:
    await record_submission(sessions, make_record("d1"))
    assert await enterprise_profile(sessions, CODE_A) == PROFILE_A

    moved = dataclasses.replace(PROFILE_A, name="济南明湖智能装备有限公司", city="淄博市",
                                county="张店区", industry_division=None, employees=None)
    await record_submission(sessions, make_record("d2", profile=moved, at=T0 + timedelta(days=30)))

    assert await enterprise_profile(sessions, CODE_A) == moved
    assert await count(sessions, Enterprise) == 1
    async with sessions() as session:
        row = (await session.execute(select(Enterprise))).scalar_one()
    assert row.created_at < row.updated_at


# --- history ---


async def test_reassessment_history_newest_first(sessions: Sessions) -> None:
    first = await record_submission(sessions, make_record("d1", person_id=ALICE, total="35.1"))
    # A colleague re-assesses the same enterprise a month later.
    second = await record_submission(sessions, make_record(
        "d2", person_id=BOB, total="52.25", level=2, at=T0 + timedelta(days=30)))

    for results in (await latest_results(sessions, person_id=ALICE),
                    await latest_results(sessions, person_id=BOB),
                    await latest_results(sessions, credit_code=CODE_A)):
        assert [r.submission_id for r in results] == [second.submission_id, first.submission_id]
        latest, previous = results
        assert (latest.total, latest.level) == (Decimal("52.25"), 2)
        assert (previous.total, previous.level) == (Decimal("35.1"), 1)
        assert previous.result["total"] == Decimal("35.1")

    third = await record_submission(sessions, make_record("d3", at=T0 + timedelta(days=60)))
    results = await latest_results(sessions, credit_code=CODE_A)
    assert [r.submission_id for r in results] == [third.submission_id, second.submission_id]
    results = await latest_results(sessions, credit_code=CODE_A, limit=10)
    assert len(results) == 3


async def test_history_follows_the_enterprise_last_submitted_for(sessions: Sessions) -> None:
    await record_submission(sessions, make_record("d1", profile=PROFILE_A))
    b = await record_submission(sessions, make_record("d2", profile=PROFILE_B,
                                                      at=T0 + timedelta(days=1)))
    assert [r.submission_id for r in await latest_results(sessions, person_id=ALICE)] == [
        b.submission_id]
    assert b.enterprise_name == PROFILE_B.name
    assert len(await latest_results(sessions, credit_code=CODE_A)) == 1
    assert (await person(sessions, ALICE)).enterprise_id is not None  # type: ignore[union-attr]


async def test_latest_results_unknown_and_bad_arguments(sessions: Sessions) -> None:
    assert await latest_results(sessions, person_id=ALICE) == []
    assert await latest_results(sessions, credit_code=CODE_A) == []
    with pytest.raises(ValueError):
        await latest_results(sessions)
    with pytest.raises(ValueError):
        await latest_results(sessions, person_id=ALICE, credit_code=CODE_A)
    with pytest.raises(ValueError):
        await latest_results(sessions, person_id=ALICE, subject_id=ALICE)


async def test_results_follow_the_subject_across_channels(sessions: Sessions) -> None:
    # One human (unionid U) submits from the chat, later from the mini-program.
    subject = "u:union-1"
    chat = await record_submission(sessions, dataclasses.replace(
        make_record("d1"), subject_id=subject))
    mini = await record_submission(sessions, dataclasses.replace(
        make_record("d2", at=T0 + timedelta(days=1)), person_id=person_key("mp", "o-alice-mp"),
        channel="mp", subject_id=subject))
    ids = [r.submission_id for r in await latest_results(sessions, subject_id=subject)]
    assert ids == [mini.submission_id, chat.submission_id]
    assert await latest_results(sessions, subject_id=ALICE) == []  # ALICE's own subject is U
    stored = await load_submission(sessions, "d2")
    assert stored is not None and stored.subject == subject and stored.channel == "mp"


# --- idempotency ---


async def test_same_draft_twice_stores_one_row(sessions: Sessions) -> None:
    first = await record_submission(sessions, make_record("d1"))
    again = await record_submission(sessions, make_record("d1", total="99.5"))
    assert again == first  # the first one stands
    assert await count(sessions, Submission) == 1


async def test_same_draft_racing_stores_one_row(sessions: Sessions) -> None:
    results = await asyncio.gather(
        *(record_submission(sessions, make_record("race")) for _ in range(2)))
    assert results[0] == results[1]
    assert await count(sessions, Submission) == 1
    # Several at once, with a brand-new enterprise each time: still one row per draft.
    record = make_record("race2", profile=PROFILE_B, person_id=BOB)
    results = await asyncio.gather(*(record_submission(sessions, record) for _ in range(4)))
    assert len({r.submission_id for r in results}) == 1
    assert await count(sessions, Submission) == 2
    assert await count(sessions, Enterprise) == 2


async def test_record_with_history_returns_the_newest_results_this_one_first(
        sessions: Sessions) -> None:
    await record_submission(sessions, make_record("d1", total="30.1"))
    await record_submission(sessions, make_record("d2", total="40.1", at=T0 + timedelta(days=1)))
    await record_submission(sessions, make_record("other", profile=PROFILE_B, person_id=BOB,
                                                  at=T0 + timedelta(days=3)))
    newest = await archive.record_with_history(
        sessions, make_record("d3", total="50.1", at=T0 + timedelta(days=2)), limit=2)
    assert [r.total for r in newest] == [Decimal("50.1"), Decimal("40.1")]
    assert newest == tuple(await latest_results(sessions, credit_code=PROFILE_A.credit_code))
    # Again (a retried submit): nothing new is stored, the same history comes back.
    again = await archive.record_with_history(
        sessions, make_record("d3", total="99.1", at=T0 + timedelta(days=2)), limit=3)
    assert [r.total for r in again] == [Decimal("50.1"), Decimal("40.1"), Decimal("30.1")]
    assert await count(sessions, Submission) == 4
    with pytest.raises(ValueError, match="limit"):
        await archive.record_with_history(sessions, make_record("d4"), limit=0)
    assert await count(sessions, Submission) == 4


async def test_record_with_history_racing_stores_one_row(sessions: Sessions) -> None:
    record = make_record("race", profile=PROFILE_B, person_id=BOB)
    results = await asyncio.gather(
        *(archive.record_with_history(sessions, record, limit=2) for _ in range(4)))
    assert all(r == results[0] for r in results) and len(results[0]) == 1
    assert await count(sessions, Submission) == 1


async def test_a_later_submit_of_the_same_draft_returns_the_first(sessions: Sessions) -> None:
    # The insert hits the unique draft_id; the transaction (and its enterprise upsert) is undone.
    first = await record_submission(sessions, make_record("d1"))
    again = await record_submission(sessions, make_record("d1", total="99.5",
                                                          profile=dataclasses.replace(
                                                              PROFILE_A, name="改过的名字公司")))
    assert again == first
    assert await count(sessions, Submission) == 1
    profile = await archive.enterprise_profile(sessions, PROFILE_A.credit_code)
    assert profile is not None and profile.name == PROFILE_A.name


async def test_other_integrity_errors_propagate(sessions: Sessions) -> None:
    nameless = dataclasses.replace(PROFILE_A, name=None)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        await record_submission(sessions, make_record(profile=nameless))
    assert await count(sessions, Submission) == 0


# --- persons ---


async def test_subscribe_and_unsubscribe(sessions: Sessions) -> None:
    await set_subscribed(sessions, BOB, "oa", "o-bob", True, T0, unionid="u-bob")
    row = await person(sessions, BOB)
    assert row is not None
    assert (row.channel, row.openid, row.unionid) == ("oa", "o-bob", "u-bob")
    assert row.subscribed and row.subscribed_at == T0 and row.unsubscribed_at is None

    await set_subscribed(sessions, BOB, "oa", "o-bob", False, T0 + timedelta(days=1))
    row = await person(sessions, BOB)
    assert row is not None and not row.subscribed
    assert row.subscribed_at == T0 and row.unsubscribed_at == T0 + timedelta(days=1)
    assert row.unionid == "u-bob"  # not erased by an event without one

    await set_subscribed(sessions, BOB, "oa", "o-bob", True, T0 + timedelta(days=2))
    row = await person(sessions, BOB)
    assert row is not None and row.subscribed and row.subscribed_at == T0 + timedelta(days=2)
    assert await count(sessions, Person) == 1

    with pytest.raises(ValueError):
        await set_subscribed(sessions, BOB, "oa", "someone-else", True, T0)


async def test_submission_creates_and_links_the_person(sessions: Sessions) -> None:
    await touch_person(sessions, BOB, "oa", "o-bob", T0)
    await record_submission(sessions, make_record("d1", person_id=ALICE))
    await record_submission(sessions, make_record("d2", person_id=BOB))
    alice, bob = await person(sessions, ALICE), await person(sessions, BOB)
    assert alice is not None and bob is not None
    assert alice.openid == "o-alice" and alice.subscribed  # only followers can message an OA
    assert alice.enterprise_id is not None and alice.enterprise_id == bob.enterprise_id
    assert bob.last_message_at == T0


# --- engine ---


async def test_sqlite_engine_settings(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/a/b/x.sqlite3")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    finally:
        await engine.dispose()


async def test_empty_databases_are_isolated(empty_database: EmptyDatabase) -> None:
    engine = empty_database.engine()
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert tables == []
    finally:
        await engine.dispose()

