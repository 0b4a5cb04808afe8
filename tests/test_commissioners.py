"""Commissioners' area: binding codes (once, before they expire, never stored in clear) and the
status of the enterprises in scope, on SQLite and PostgreSQL; nothing outside the scope shows."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.commissioners import CODE_ALPHABET, CODE_LENGTH, Scope, binding_code, code_digest
from flows.profile import builtin_reference
from flows.roster import check_roster
from storage import activity, commissioners, enterprise_status
from storage.archive import Profile, record_submission
from storage.models import Commissioner
from storage.roster import import_rows
from tests.test_archive import make_record
from tests.test_roster import HEADER, code, row

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
JINAN = Scope(("济南市",))


def test_codes_are_from_the_alphabet_and_digests_only() -> None:
    codes = {binding_code(secrets.token_bytes(32)) for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)
    sample = next(iter(codes))
    assert code_digest(sample) == code_digest(f" {sample[:5].lower()}-{sample[5:]} ")
    assert code_digest(sample) != sample and len(code_digest(sample) or "") == 64
    assert code_digest("SHORT") is None and code_digest("0" * CODE_LENGTH) is None


async def test_a_code_binds_once_and_not_after_it_expires(sessions: Sessions) -> None:
    good, late = binding_code(secrets.token_bytes(32)), binding_code(secrets.token_bytes(32))
    digest, late_digest = code_digest(good), code_digest(late)
    assert digest and late_digest
    ann = await commissioners.add(sessions, "王专员", JINAN, digest, NOW + timedelta(days=3), NOW)
    await commissioners.add(sessions, "李专员", JINAN, late_digest, NOW - timedelta(minutes=1),
                            NOW - timedelta(days=3))
    async with sessions() as session:
        stored = list(await session.scalars(select(Commissioner.code_digest)))
    assert good not in stored and late not in stored  # only digests are kept
    # Two people race with the same code: exactly one gets it.
    results = await asyncio.gather(commissioners.bind(sessions, digest, "oa:x", NOW),
                                   commissioners.bind(sessions, digest, "oa:y", NOW))
    bound = [r for r in results if r is not None]
    assert len(bound) == 1 and bound[0].id == ann.id and bound[0].scope == JINAN
    assert await commissioners.bind(sessions, digest, "oa:z", NOW) is None  # used up
    assert await commissioners.bind(sessions, late_digest, "oa:z", NOW) is None  # expired
    person = bound[0].person_id
    assert person is not None and (await commissioners.of_person(sessions, person)) == bound[0]
    assert await commissioners.bound_people(sessions) == {person}
    # A new code moves the binding (a new phone); the old person is no longer a commissioner.
    again = binding_code(secrets.token_bytes(32))
    assert await commissioners.new_code(sessions, ann.id, code_digest(again) or "",
                                        NOW + timedelta(days=1))
    moved = await commissioners.bind(sessions, code_digest(again) or "", "oa:new-phone", NOW)
    assert moved is not None and await commissioners.bound_people(sessions) == {"oa:new-phone"}


async def test_status_in_scope_counts_and_lists(sessions: Sessions) -> None:
    table = [HEADER, row(1), row(2, county="市中区"), row(3),
             row(4, city="青岛市", county="黄岛区")]
    await import_rows(sessions, check_roster(table, builtin_reference()).rows, NOW)
    await record_submission(sessions, make_record(profile=Profile(
        name="山东某某制造有限公司1", credit_code=code(1), city="济南市", county="历下区",
        industry="C")))
    for person, credit, at in (("oa:p2", code(2), NOW - timedelta(hours=3)),
                               ("oa:old", code(3), NOW - timedelta(days=40)),  # expired
                               ("oa:q", code(4), NOW)):
        await activity.record(sessions, activity.Activity(
            person_id=person, subject_id=person, draft_id=f"d-{person}", credit_code=credit,
            answered=12, total=31, started_at=at, last_active_at=at))

    found = await enterprise_status.progress(sessions, JINAN, NOW)
    assert found.total == 3
    assert found.by_status == {"not_started": 1, "in_progress": 1, "submitted": 1}
    assert found.levels == {make_record().level: 1}
    page, total = await enterprise_status.listing(sessions, JINAN, "in_progress", NOW)
    assert total == 1 and [(e.credit_code, e.answered, e.total) for e in page] == [
        (code(2), 12, 31)]
    assert page[0].last_active_at == NOW - timedelta(hours=3)
    page, _ = await enterprise_status.listing(sessions, JINAN, "submitted", NOW)
    assert page[0].level == make_record().level and page[0].submitted_at is not None
    page, _ = await enterprise_status.listing(sessions, JINAN, "not_started", NOW)
    assert [e.credit_code for e in page] == [code(3)]  # its draft expired
    # Counties narrow; another city sees none of 济南.
    county = await enterprise_status.progress(sessions, Scope(("济南市",), ("市中区",)), NOW)
    assert county.total == 1 and county.by_status["in_progress"] == 1
    qingdao = await enterprise_status.progress(sessions, Scope(("青岛市",)), NOW)
    assert qingdao.total == 1 and qingdao.by_status["in_progress"] == 1
    page, total = await enterprise_status.listing(sessions, Scope(("青岛市",)), "not_started",
                                                  NOW)
    assert (page, total) == ([], 0)
    # Pages.
    page, total = await enterprise_status.listing(sessions, Scope(("济南市", "青岛市")),
                                                  "in_progress", NOW, offset=1, limit=1)
    assert total == 2 and len(page) == 1
