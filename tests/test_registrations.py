"""Sign-ups with a capacity and a waiting list, on SQLite and PostgreSQL, also under a rush for
the last seats."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.notices import NoticeSpec, parse_notice
from flows.profile import builtin_reference
from storage import deliveries, notices
from storage.archive import record_submission, touch_person
from storage.registrations import Mine, SignUp, cancel, mine, registrations, sign_up
from tests.test_archive import make_record

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


async def notice(sessions: Sessions, *, scheduled: bool = True, **changes: object) -> int:
    """A notice for everyone (unless `changes` give an audience), scheduled; people "oa:*"
    need `people` first."""
    raw = {"kind": "training", "title": "提升培训", "body": "名额有限。",
           "starts_at": "2026-12-10T09:00:00+08:00",
           "signup_deadline": "2026-12-08T18:00:00+08:00", "capacity": 2, **changes}
    spec = parse_notice(raw, builtin_reference(), max_level=4)
    assert isinstance(spec, NoticeSpec)
    notice_id = (await notices.create_notice(sessions, spec, T0)).id
    if scheduled:
        await notices.change_status(sessions, notice_id, "scheduled", T0, send_at=T0)
    return notice_id


async def people(sessions: Sessions, *names: str) -> None:
    for name in names:
        await touch_person(sessions, f"oa:{name}", "oa", name, T0)


@pytest.fixture(autouse=True)
async def everyone(sessions: Sessions) -> None:
    await people(sessions, *"abcdx", "late", *(f"p{i}" for i in range(12)),
                 *(f"u{i}" for i in range(5)))


async def test_capacity_waiting_list_and_promotion(sessions: Sessions) -> None:
    n = await notice(sessions)
    assert await sign_up(sessions, n, "oa:a", T0) == SignUp("registered")
    assert await sign_up(sessions, n, "oa:b", T0 + timedelta(seconds=1)) == SignUp("registered")
    assert await sign_up(sessions, n, "oa:c", T0 + timedelta(seconds=2)) == SignUp(
        "waitlisted", 1)
    assert await sign_up(sessions, n, "oa:d", T0 + timedelta(seconds=3)) == SignUp(
        "waitlisted", 2)
    assert await sign_up(sessions, n, "oa:c", T0 + timedelta(seconds=4)) == SignUp(
        "waitlisted", 1, already=True)
    assert await cancel(sessions, n, "oa:a", T0) == (True, "oa:c")  # the first waiting
    assert await cancel(sessions, n, "oa:d", T0) == (True, None)  # a waiting one leaves
    assert await cancel(sessions, n, "oa:d", T0) == (False, None)
    assert await registrations(sessions, n) == {"cancelled": ["oa:a", "oa:d"],
                                                "registered": ["oa:b", "oa:c"]}
    # Signing up again after cancelling queues at the end.
    assert await sign_up(sessions, n, "oa:a", T0 + timedelta(seconds=9)) == SignUp(
        "waitlisted", 1)
    assert await mine(sessions, [n], "oa:a") == {n: Mine("waitlisted", 1)}
    assert await mine(sessions, [n], "oa:c") == {n: Mine("registered", None)}
    assert await mine(sessions, [n], "oa:x") == {}
    # The promoted person's message was recorded with the promotion.
    assert await deliveries.counts(sessions, n, purpose="promoted") == {"queued": 1}
    due = await deliveries.personal_due(sessions, T0 + timedelta(seconds=1), limit=10)
    assert due == [(n, "promoted", "oa:c")]


async def test_cancelling_a_notice_tells_everyone_signed_up(sessions: Sessions) -> None:
    n = await notice(sessions, capacity=1)
    for name in "abc":
        await sign_up(sessions, n, f"oa:{name}", T0)
    await cancel(sessions, n, "oa:c", T0)  # withdrew: not told
    await notices.change_status(sessions, n, "cancelled", T0)
    due = await deliveries.personal_due(sessions, T0, limit=10)
    assert sorted(due) == [(n, "cancelled", "oa:a"), (n, "cancelled", "oa:b")]


async def test_only_the_audience_can_sign_up(sessions: Sessions) -> None:
    record = make_record()  # oa:... of an enterprise in 济南 who submitted
    await record_submission(sessions, record)
    jinan = await notice(sessions, audience={"cities": ["济南市"]})
    qingdao = await notice(sessions, audience={"cities": ["青岛市"]})
    assert (await sign_up(sessions, jinan, record.person_id, T0)).outcome == "registered"
    assert await sign_up(sessions, qingdao, record.person_id, T0) == SignUp("not_found")
    assert await sign_up(sessions, jinan, "oa:a", T0) == SignUp("not_found")  # no enterprise
    draft = await notice(sessions, scheduled=False)
    assert await sign_up(sessions, draft, "oa:a", T0) == SignUp("not_found")  # not published


async def test_a_rush_for_the_last_seats_never_overbooks(sessions: Sessions) -> None:
    n = await notice(sessions, capacity=3)
    results = await asyncio.gather(*(sign_up(sessions, n, f"oa:p{i}", T0 + timedelta(
        milliseconds=i)) for i in range(12)))
    assert sorted(r.outcome for r in results) == ["registered"] * 3 + ["waitlisted"] * 9
    assert len((await registrations(sessions, n))["registered"]) == 3


async def test_closed_and_unknown(sessions: Sessions) -> None:
    n = await notice(sessions, capacity=None)
    assert await sign_up(sessions, n, "oa:late", T0 + timedelta(days=30)) == SignUp("closed")
    assert await sign_up(sessions, 999, "oa:x", T0) == SignUp("not_found")
    assert await cancel(sessions, 999, "oa:x", T0) == (False, None)
    await notices.change_status(sessions, n, "cancelled", T0)
    assert await sign_up(sessions, n, "oa:x", T0) == SignUp("closed")
    unlimited = await notice(sessions, capacity=None)
    for i in range(5):
        assert (await sign_up(sessions, unlimited, f"oa:u{i}", T0)).outcome == "registered"
