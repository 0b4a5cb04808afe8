"""Notices: the admin's notice checked whole, the channel WeChat permits per person, and the
audience a notice's filters select from the archive (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.translations import translator
from flows.messages import notices as notice_texts
from flows.notices import (
    PAST_OPT_OUT,
    WHOLE_TEXT,
    Audience,
    LeadNotice,
    NoticeMessage,
    NoticeSpec,
    Recipient,
    Skip,
    choose_channel,
    parse_notice,
)
from flows.problems import Problem
from flows.profile import builtin_reference, credit_code_check_char
from flows.solutions import CALL_WITHIN_WORKING_DAYS
from storage import activity
from storage.archive import Profile, SubmissionRecord, record_submission, set_subscribed
from storage.notices import (
    NoticeStateError,
    change_status,
    count_audience,
    create_notice,
    get_notice,
    list_notices,
    set_opt_out,
    stream_audience,
)

Sessions = async_sessionmaker[AsyncSession]
REFERENCE = builtin_reference()
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
NOW = int(T0.timestamp())
VALID = {"kind": "training", "title": "数字化转型普及培训（济南）",
         "body": "面向企业负责人，讲解数字化水平评测与改造路径。",
         "starts_at": "2026-12-10T09:00:00+08:00", "ends_at": "2026-12-10T17:00:00+08:00",
         "place": "济南市历下区某会议中心", "signup_deadline": "2026-12-08T18:00:00+08:00",
         "capacity": 80, "audience": {"cities": ["济南市"], "level_max": 1}}


def code(serial: int) -> str:
    first17 = f"91370100MA{serial:07d}"
    return first17 + credit_code_check_char(first17)


def parse(raw: Any) -> NoticeSpec | list[Problem]:
    return parse_notice(raw, REFERENCE, max_level=4)


def test_a_valid_notice() -> None:
    spec = parse(VALID)
    assert isinstance(spec, NoticeSpec)
    assert spec.audience == Audience(cities=("济南市",), level_max=1)
    assert spec.starts_at.utcoffset() == timedelta(hours=8) and spec.capacity == 80


@pytest.mark.parametrize(("change", "subject"), [
    ({"kind": "party"}, "kind"),
    ({"title": ""}, "title"),
    ({"title": "x" * 61}, "title"),
    ({"body": None}, "body"),
    ({"starts_at": "2026-12-10 09:00"}, "starts_at"),  # no offset: ambiguous
    ({"ends_at": "2026-12-09T09:00:00+08:00"}, "ends_at"),
    ({"signup_deadline": "2026-12-11T09:00:00+08:00"}, "signup_deadline"),
    ({"capacity": 0}, "capacity"),
    ({"capacity": True}, "capacity"),
    ({"link": "javascript:alert(1)"}, "link"),
    ({"colour": "red"}, "colour"),
    ({"audience": {"cities": ["北京市"]}}, "audience.cities"),
    ({"audience": {"industries": ["Z"]}}, "audience.industries"),
    ({"audience": {"level_min": 5}}, "audience.level_min"),
    ({"audience": {"level_min": 3, "level_max": 1}}, "audience.level_min"),
    ({"audience": {"statuses": ["bored"]}}, "audience.statuses"),
    ({"audience": {"credit_codes": ["123"]}}, "audience.credit_codes"),
    ({"audience": {"zip": ["250000"]}}, "audience.zip"),
    ({"audience": ["济南市"]}, "audience"),
])
def test_every_problem_names_its_field(change: dict[str, Any], subject: str) -> None:
    problems = parse({**VALID, **change})
    assert isinstance(problems, list)
    assert [p.subject for p in problems] == [subject]


def test_not_an_object() -> None:
    problems = parse(["training"])
    assert isinstance(problems, list) and problems[0].code == "invalid"


def person(channel: str = "oa", **facts: Any) -> Recipient:
    defaults: dict[str, Any] = {"person_id": f"{channel}:x", "channel": channel,
                                "subscribed": True, "opted_out": False,
                                "last_message_at": None, "consents": 0}
    return Recipient(**{**defaults, **facts})


@pytest.mark.parametrize(("recipient", "template", "own", "expected"), [
    (person(), True, False, "template"),
    (person(last_message_at=NOW - 3600), False, False, "custom"),
    (person(last_message_at=NOW - 48 * 3600), False, False, Skip("no_template")),
    (person(), False, False, Skip("no_template")),
    (person(subscribed=False), True, False, Skip("unsubscribed")),
    (person(opted_out=True), True, False, Skip("opted_out")),
    (person(opted_out=True), True, True, "template"),  # their own sign-up's reminder
    (person("mp", consents=1), True, False, "subscribe"),
    (person("mp", consents=0), True, False, Skip("no_consent")),
])
def test_the_channel_wechat_permits(recipient: Recipient, template: bool, own: bool,
                                    expected: Any) -> None:
    assert choose_channel(recipient, NOW, template_configured=template,
                          own_reminder=own) == expected


@pytest.mark.parametrize(("recipient", "template", "expected"), [
    (person(last_message_at=NOW - 3600), True, "custom"),  # the whole lead while allowed
    (person(last_message_at=NOW - 48 * 3600), True, "template"),  # then what is permitted
    (person(), True, "template"),
    (person(), False, Skip("no_template")),
    (person(last_message_at=NOW - 3600, subscribed=False), True, Skip("unsubscribed")),
    (person(last_message_at=NOW - 3600, opted_out=True), True, "custom"),  # work, no notice
])
def test_a_lead_is_sent_whole_while_wechat_allows(recipient: Recipient, template: bool,
                                                  expected: Any) -> None:
    assert choose_channel(recipient, NOW, template_configured=template,
                          own_reminder="lead" in PAST_OPT_OUT,
                          whole_text="lead" in WHOLE_TEXT) == expected


LEAD = LeadNotice(lead_id=7, provider_id=2, enterprise="济南鲁信机械有限公司", city="济南市",
                  county="历下区", industry="C", industry_division="34",
                  solution="云MES", mobile="13800138000")


def test_what_a_providers_contact_reads_of_a_lead() -> None:
    assert LeadNotice.from_data(LEAD.as_data()) == LEAD
    industry = REFERENCE.industry_name(LEAD.industry, LEAD.industry_division)
    assert industry == "通用设备制造业"
    assert REFERENCE.industry_name("C", "C34") == industry
    assert REFERENCE.industry_name("C") == "制造业" and REFERENCE.industry_name("Z") == "Z"
    message = NoticeMessage(id=1, title="云MES", body="济南鲁信机械有限公司", starts_at=T0,
                            place=None, link=None, signup_open=False, lead=LEAD,
                            industry=industry)
    tr = translator("zh_CN")
    assert notice_texts.custom_text(tr, message, "lead", draft_days=30) == (
        "新的对接需求：济南鲁信机械有限公司（济南市历下区，通用设备制造业）希望就「云MES」"
        "与贵单位对接。\n联系手机：13800138000（对方已同意贵单位就此方案来电联系）\n"
        f"请在 {CALL_WITHIN_WORKING_DAYS} 个工作日内致电。")
    fields = notice_texts.template_fields(tr, message, "lead")
    assert fields == {"thing1": "对接需求：云MES", "time2": "2026-12-01 09:00",
                      "thing3": "13800138000 济南鲁信机械有限"}  # the mobile survives the cut


# --- storage ---------------------------------------------------------------------------------


async def submit(sessions: Sessions, person_id: str, serial: int, *, city: str = "济南市",
                 county: str = "历下区", industry: str = "C", level: int = 1,
                 at: datetime = T0) -> None:
    profile = Profile(name=f"企业{serial}", credit_code=code(serial), city=city, county=county,
                      industry=industry)
    dimensions = {"foundation": Decimal(10), "management": Decimal(10),
                  "effectiveness": Decimal(10)}
    await record_submission(sessions, SubmissionRecord(
        draft_id=f"d-{person_id}-{serial}-{at.timestamp()}", person_id=person_id,
        channel=person_id.split(":")[0], indicator_set="miit-2024", profile=profile,
        answers={}, figures={}, total=Decimal(30), dimensions=dimensions, level=level,
        level_name=str(level), scene_levels={}, result={}, started_at=None, submitted_at=at))


async def test_notice_lifecycle(sessions: Sessions) -> None:
    spec = parse(VALID)
    assert isinstance(spec, NoticeSpec)
    notice = await create_notice(sessions, spec, T0)
    assert notice.status == "draft" and notice.audience["cities"] == ["济南市"]
    scheduled = await change_status(sessions, notice.id, "scheduled", T0,
                                    send_at=T0 + timedelta(hours=1))
    assert scheduled.status == "scheduled" and scheduled.send_at == T0 + timedelta(hours=1)
    # Two workers try to start the campaign: exactly one does.
    outcomes = await asyncio.gather(*(change_status(sessions, notice.id, "sending", T0)
                                      for _ in range(2)), return_exceptions=True)
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all(isinstance(o, NoticeStateError) for o in outcomes if isinstance(o, Exception))
    with pytest.raises(NoticeStateError):
        await change_status(sessions, notice.id, "draft", T0)
    await change_status(sessions, notice.id, "cancelled", T0)
    stored = await get_notice(sessions, notice.id)
    assert stored is not None and stored.status == "cancelled"
    assert [n.id for n in await list_notices(sessions)] == [notice.id]
    with pytest.raises(LookupError):
        await change_status(sessions, 999, "scheduled", T0)


async def test_the_audience_follows_every_filter(sessions: Sessions) -> None:
    await submit(sessions, "oa:jinan-1", 1, level=1)
    await submit(sessions, "oa:jinan-3", 2, level=3, county="市中区")
    await submit(sessions, "mp:qingdao-2", 3, city="青岛市", county="黄岛区", level=2,
                 industry="F")
    # Jinan-1's enterprise re-assessed to level 2 later: the latest level counts.
    await submit(sessions, "oa:jinan-1", 1, level=2, at=T0 + timedelta(days=30))
    await set_subscribed(sessions, "oa:newcomer", "oa", "newcomer", True, T0)  # no submission
    now = datetime.now(UTC)
    # Drafts in progress: for Jinan-1's enterprise, for one not in the archive, one expired,
    # and a re-assessment by someone who has submitted before (still "submitted").
    for person, credit, at in (("oa:drafting", code(1), now - timedelta(days=1)),
                               ("mp:unknown-firm", code(9), now - timedelta(hours=1)),
                               ("oa:expired", code(1), now - timedelta(days=31)),
                               ("oa:jinan-3", code(2), now)):
        await set_subscribed(sessions, person, person[:2], person[3:], True, T0)
        await activity.record(sessions, activity.Activity(
            person_id=person, subject_id=person, draft_id=f"d-{person}-1-{T0.timestamp()}",
            credit_code=credit, answered=3, total=31, started_at=at, last_active_at=at))

    async def members(**filters: Any) -> set[str]:
        audience = Audience(**filters)
        found = {m.person_id async for batch in stream_audience(sessions, audience, batch=2)
                 for m in batch}
        assert await count_audience(sessions, audience) == len(found)
        return found

    submitted = {"oa:jinan-1", "oa:jinan-3", "mp:qingdao-2"}
    everyone = submitted | {"oa:newcomer", "oa:drafting", "mp:unknown-firm", "oa:expired"}
    assert await members() == everyone
    assert await members(cities=("济南市",)) == {"oa:jinan-1", "oa:jinan-3", "oa:drafting"}
    assert await members(counties=("市中区", "黄岛区")) == {"oa:jinan-3", "mp:qingdao-2"}
    assert await members(industries=("F",)) == {"mp:qingdao-2"}
    # The enterprise a draft names has a level of its own (submitted by someone else).
    assert await members(level_max=2) == {"oa:jinan-1", "mp:qingdao-2", "oa:drafting"}
    assert await members(level_min=2, level_max=2) == {"oa:jinan-1", "mp:qingdao-2",
                                                       "oa:drafting"}
    assert await members(level_min=3) == {"oa:jinan-3"}
    assert await members(credit_codes=(code(2),)) == {"oa:jinan-3"}
    assert await members(statuses=("submitted",)) == submitted
    assert await members(statuses=("not_started",)) == {"oa:newcomer", "oa:expired"}
    assert await members(statuses=("in_progress",)) == {"oa:drafting", "mp:unknown-firm"}
    assert await members(statuses=("in_progress", "not_started")) == everyone - submitted
    assert await members(statuses=("in_progress",), cities=("济南市",)) == {"oa:drafting"}
    assert await members(statuses=("not_started", "in_progress", "submitted")) == everyone
    assert await members(cities=("济南市",), level_min=3) == {"oa:jinan-3"}

    assert await set_opt_out(sessions, "oa:jinan-3", True)
    assert not await set_opt_out(sessions, "oa:nobody", True)
    # Submitting the draft (its id is the one submit() gives) ends "in progress" with it.
    await submit(sessions, "oa:drafting", 1)
    assert await members(statuses=("in_progress",)) == {"mp:unknown-firm"}
    assert "oa:drafting" in await members(statuses=("submitted",))
    opted = {m.person_id: m.opted_out async for batch in stream_audience(sessions, Audience())
             for m in batch}
    assert opted["oa:jinan-3"] and not opted["oa:jinan-1"]


async def test_streaming_keeps_one_batch_at_a_time(sessions: Sessions) -> None:
    for i in range(25):
        await set_subscribed(sessions, f"oa:p{i:03d}", "oa", f"p{i:03d}", True, T0)
    sizes = [len(batch) async for batch in stream_audience(sessions, Audience(), batch=10)]
    assert sizes == [10, 10, 5]

