"""The questionnaire end to end, as an owner uses it: signed WeChat XML POSTed over loopback to the
real app (`build_app`), a real Redis server, and the archive on SQLite and PostgreSQL.

Every test starts `dxbot serve`'s application with its own settings, so restarts, the embedded
Redis and database failures are the production code paths.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select, text

from bot.devtools.simulator import next_msg_id
from flows.answers import check_answers
from flows.scoring import assess
from storage import archive
from storage.archive import person_key
from storage.conversations import ConversationStore
from storage.models import Person, Submission
from tests.app_fixtures import (
    AES_KEY,
    ANSWERS,
    BETTER_ANSWERS,
    EXPECTED_ANSWERS,
    ISET,
    PROFILE,
    Deploy,
    Owner,
    credit_code,
    question_header,
)
from tests.db_fixtures import EmptyDatabase


async def draft_of(redis_client: aioredis.Redis, openid: str) -> dict[str, Any] | None:
    """The draft the bot keeps in Redis for `openid` (None when there is none)."""
    key = ConversationStore(redis_client).keys.state(person_key("oa", openid))
    raw = await redis_client.hget(key, "s")
    return None if raw is None else json.loads(raw)["draft"]


async def submissions(sessions: Any) -> list[Submission]:
    async with sessions() as session:
        rows = await session.scalars(select(Submission).order_by(Submission.id))
        return list(rows)


# --- the whole questionnaire -----------------------------------------------------------------


@pytest.mark.parametrize("aes_key", [None, AES_KEY], ids=["plaintext", "safe-mode"])
async def test_complete_questionnaire_is_archived_and_levelled(
    deploy: Deploy, aes_key: str | None, redis_client: aioredis.Redis, sessions_on: Any,
) -> None:
    bot = await deploy(aes_key=aes_key)
    owner = bot.owner("o-complete")
    assert bot.owner("x").sim.mode == ("safe" if aes_key else "plain")

    welcome = await owner.sim.send_event(owner.openid, "subscribe")
    assert welcome is not None and "开始测评" in welcome
    code = credit_code(1)
    review = await owner.questionnaire(code)

    # Every question was asked in order with its progress, options as "A. …" lines.
    for n, code_ in enumerate(ISET.codes, start=1):
        asked = [r for r in owner.replies if r.startswith(question_header(n))]
        assert asked and code_ in asked[0], f"question {n} ({code_}) was not asked"
    assert "A. 无" in next(r for r in owner.replies if r.startswith(question_header(1)))
    assert "已答 31/31" in review and "济南鲁信机械有限公司" in review
    assert "1. B1 B、C" in review and "31. S16 0" in review
    assert (await draft_of(redis_client, owner.openid))["step"] == "review"  # type: ignore[index]

    result = await owner.say("提交")

    # The level the owner sees is the engine's level for exactly these answers.
    answers, _figures, problems = check_answers(ISET, EXPECTED_ANSWERS)
    assert not problems
    expected = assess(ISET, answers)
    assert expected.total == Decimal("41.4") and expected.level == 2
    assert "初步等级：二级" in result
    assert "总分 41.4/100" in result
    assert "数字化基础 17.4/50 · 数字化管理 10.5/30 · 数字化成效 13.5/20" in result
    assert "距三级还差" in result
    assert "≥1级 15 个（约束 10）" in result
    assert "建议优先" in result and "\n1. " in result and "现场评测" in result

    # Archived (一企一档) only then, and the draft is gone.
    [row] = await submissions(sessions_on)
    assert row.answers == EXPECTED_ANSWERS
    assert row.total == expected.total and row.level == 2 and row.level_name == "二级"
    assert row.profile["credit_code"] == code and row.profile["industry_division"] == "34"
    assert row.channel == "oa" and row.person_id == person_key("oa", owner.openid)
    assert row.scene_levels["S05"] == 3
    assert await draft_of(redis_client, owner.openid) is None
    async with sessions_on() as session:
        person = await session.get(Person, person_key("oa", owner.openid))
        assert person is not None and person.subscribed and person.enterprise_id is not None

    # 结果 shows the stored result; a second 提交 finds nothing to submit.
    assert "初步等级：二级" in await owner.say("结果")
    assert "开始测评" in await owner.say("提交")
    assert len(await submissions(sessions_on)) == 1


async def test_figures_answer_is_computed_confirmed_and_stored(
    deploy: Deploy, sessions_on: Any,
) -> None:
    bot = await deploy()
    owner = bot.owner("o-figures")
    await owner.start_with_profile(credit_code(2))
    await owner.say("B")  # B1
    computed = await owner.say("45/120")  # B2: 45 of 120 devices digitised
    assert "37.5%" in computed and "C." in computed and "确认" in computed
    assert question_header(3) in await owner.say("确认")
    assert question_header(4) in await owner.say("B")  # B3 by letter
    await owner.says(ANSWERS[3:] + ["提交"])
    [row] = await submissions(sessions_on)
    assert row.answers["B2"] == "C"
    assert row.figures == {"digital_equipment": "45", "production_equipment_total": "120"}


# --- stop and come back ----------------------------------------------------------------------


async def test_resume_after_server_restart(
    deploy: Deploy, redis_client: aioredis.Redis, sessions_on: Any,
) -> None:
    bot = await deploy()
    owner = bot.owner("o-resume")
    await owner.start_with_profile(credit_code(3))
    await owner.says(ANSWERS[:9])
    before = await draft_of(redis_client, owner.openid)

    await bot.restart()
    owner = bot.owner("o-resume")
    back = await owner.say("继续")
    assert "欢迎回来" in back and f"\n\n{question_header(10)} · " in back, back
    assert await draft_of(redis_client, owner.openid) == before
    progress = await owner.say("进度")
    assert "已答 9/31" in progress

    await owner.says(ANSWERS[9:] + ["提交"])
    [row] = await submissions(sessions_on)
    assert row.answers == EXPECTED_ANSWERS


async def test_embedded_redis_keeps_drafts_across_restart(
    empty_database: EmptyDatabase, deploy: Deploy,
) -> None:
    if empty_database.backend != "sqlite":
        pytest.skip("the embedded Redis does not depend on the database")
    bot = await deploy(embedded_redis=True)
    owner = bot.owner("o-embedded")
    await owner.start_with_profile(credit_code(4))
    await owner.says(ANSWERS[:3])
    data_dir = bot.settings.data_dir
    await bot.restart()
    assert (data_dir / "redis" / "dxbot.rdb").exists()
    back = await bot.owner("o-embedded").say("继续")
    assert "欢迎回来" in back and question_header(4) in back


async def test_menu_and_event_messages(deploy: Deploy, sessions_on: Any) -> None:
    bot = await deploy()
    owner = bot.owner("o-menu")
    sim = owner.sim
    help_text = await sim.send_event(owner.openid, "click", "help")
    assert help_text is not None and "开始测评" in help_text and "修改" in help_text
    started = await sim.send_event(owner.openid, "click", "start")
    assert started is not None and "企业信息 1/6" in started
    assert "目前只能识别文字消息" in (await sim.send_other(owner.openid, "image") or "")
    assert "目前只能识别文字消息" in (await sim.send_other(owner.openid, "location") or "")
    continued = await sim.send_event(owner.openid, "click", "continue")
    assert continued is not None and "统一社会信用代码" in continued
    no_result = await sim.send_event(owner.openid, "click", "result")
    assert no_result is not None and "还没有" in no_result

    assert await sim.send_event(owner.openid, "unsubscribe") is None
    async with sessions_on() as session:
        person = await session.get(Person, person_key("oa", owner.openid))
        assert person is not None and not person.subscribed and person.unsubscribed_at


# --- WeChat's retries and simultaneous messages ----------------------------------------------


async def test_a_retried_message_gets_the_same_reply_and_one_step(
    deploy: Deploy, redis_client: aioredis.Redis,
) -> None:
    bot = await deploy(aes_key=AES_KEY)
    owner = bot.owner("o-retry")
    await owner.start_with_profile(credit_code(5))
    msg_id = next_msg_id()
    first = await owner.say("B", msg_id=msg_id)
    assert first.startswith(question_header(2))
    # WeChat re-sends the same MsgId (a fresh signature each time) when it saw no answer.
    again = [await owner.say("B", msg_id=msg_id) for _ in range(2)]
    assert again == [first, first]
    draft = await draft_of(redis_client, owner.openid)
    assert draft is not None and draft["step"] == "B2" and list(draft["answers"]) == ["B1"]
    # The draft is kept for 30 days from the last answer.
    key = ConversationStore(redis_client).keys.state(person_key("oa", owner.openid))
    assert 30 * 86400 - 60 < await redis_client.ttl(key) <= 30 * 86400


async def test_a_retry_during_the_first_delivery_waits_for_its_reply(
    deploy: Deploy, redis_client: aioredis.Redis,
) -> None:
    bot = await deploy()
    owner = bot.owner("o-overlap")
    await owner.start_with_profile(credit_code(6))
    xml = owner.sim.text_xml(owner.openid, "B C")
    replies = await asyncio.gather(*(owner.sim.deliver(xml, owner.openid) for _ in range(3)))
    assert replies[0] is not None and replies[0].startswith(question_header(2))
    assert replies == [replies[0]] * 3
    draft = await draft_of(redis_client, owner.openid)
    assert draft is not None and draft["answers"] == {"B1": ["B", "C"]}


async def test_a_repeated_event_is_answered_once(deploy: Deploy) -> None:
    bot = await deploy()
    sim = bot.owner("o-event").sim
    xml = sim.event_xml("o-event", "click", "start")
    first = await sim.deliver(xml, "o-event")
    assert first is not None and "企业信息 1/6" in first
    assert await sim.deliver(xml, "o-event") == first
    # A later click (another CreateTime) is a new event: the draft is resumed, not restarted.
    later = await sim.deliver(sim.event_xml("o-event", "click", "start",
                                            create_time=int(sim._clock()) + 1), "o-event")
    assert later is not None and "欢迎回来" in later


async def test_simultaneous_messages_of_one_person_are_all_kept(
    deploy: Deploy, redis_client: aioredis.Redis,
) -> None:
    bot = await deploy()
    owner = bot.owner("o-burst")
    await owner.start_with_profile(credit_code(7))
    # Five answers sent at once (a fast thumb, a flaky network): "B" is valid for B1…B5.
    replies = await asyncio.gather(*(owner.sim.send_text(owner.openid, "B") for _ in range(5)))
    assert all(reply for reply in replies)
    draft = await draft_of(redis_client, owner.openid)
    assert draft is not None
    assert draft["answers"] == {"B1": ["B"], "B2": "B", "B3": "B", "B4": ["B"], "B5": "B"}
    assert draft["step"] == "B6"


async def test_many_owners_at_once_do_not_mix(deploy: Deploy, sessions_on: Any) -> None:
    bot = await deploy()
    owners = [bot.owner(f"o-crowd-{i}") for i in range(6)]
    await asyncio.gather(*(o.questionnaire(credit_code(100 + i)) for i, o in enumerate(owners)))
    await asyncio.gather(*(o.say("提交") for o in owners))
    rows = await submissions(sessions_on)
    assert sorted(r.person_id for r in rows) == sorted(person_key("oa", o.openid) for o in owners)
    assert {r.profile["credit_code"] for r in rows} == {credit_code(100 + i) for i in range(6)}


# --- bad input changes nothing ---------------------------------------------------------------

_VALID = credit_code(8)
WRONG_CHECK_CHAR = _VALID[:-1] + ("1" if _VALID[-1] != "1" else "2")
# (where, what the owner sends, a piece of the one-line answer)
INVALID = [
    ("credit_code", "91370100MA3C1234", "18"),
    ("credit_code", WRONG_CHECK_CHAR, "校验"),
    ("credit_code", "91370100MA3C12OOXK", "O"),
    ("city", "17", "1"),
    ("city", "北京市", "1"),
    ("county", "区" * 40, "县"),
    ("industry", "Z", "C"),
    ("industry_division", "99", "13"),
    ("employees", "很多人", "120"),
    ("employees", "-5", "120"),
    ("B1", "A B", "A"),
    ("B1", "Z", "Z"),
    ("B1", "hello", "B C"),
    ("B1", "9", "B C"),
    ("B2", "B C", "单选"),
    ("B2", "0/0", "0"),
    ("B2", "130/120", "130"),
    ("B2", "-5/120", "负"),
    ("B2", "1/2/3/4", "/"),
    ("M1", "G", "G"),
    ("S01", "5", "0"),
    ("S01", "-1", "0"),
    ("S01", "很好", "0"),
    ("review", "B", "提交"),
    ("any", "修改 99", "31"),
    ("any", "确认", ""),
    ("any", "😀", ""),
    ("any", "<xml>]]></xml>", ""),
]


async def _walk_to(owner: Owner, where: str) -> None:
    await owner.say("开始测评")
    profile = [credit_code(8), *PROFILE]
    steps = ["credit_code", "name", "city", "county", "industry", "industry_division",
             "employees"]
    if where in steps:
        await owner.says(profile[:steps.index(where)])
        return
    await owner.says(profile)
    if where == "review":
        await owner.says(ANSWERS)
    elif where != "any":
        await owner.says(ANSWERS[:ISET.codes.index(where)])


@pytest.mark.parametrize(("where", "sent", "hint"), INVALID,
                         ids=[f"{w}:{s[:12]}" for w, s, _ in INVALID])
async def test_invalid_input_is_explained_and_changes_nothing(
    deploy: Deploy, redis_client: aioredis.Redis, where: str, sent: str, hint: str,
) -> None:
    bot = await deploy()
    owner = bot.owner("o-invalid")
    await _walk_to(owner, where)
    before = await draft_of(redis_client, owner.openid)
    asked = owner.replies[-1]

    reply = await owner.say(sent)

    assert await draft_of(redis_client, owner.openid) == before
    assert hint in reply
    # One short line saying what is accepted, then the question again.
    explanation, _, rest = reply.partition("\n\n")
    assert "\n" not in explanation and len(explanation) < 120, explanation
    assert rest == asked or asked.endswith(rest) or rest in asked, reply


async def test_non_text_messages_change_nothing(
    deploy: Deploy, redis_client: aioredis.Redis,
) -> None:
    bot = await deploy()
    owner = bot.owner("o-media")
    await _walk_to(owner, "B4")
    before = await draft_of(redis_client, owner.openid)
    for kind in ("image", "voice", "video", "location", "link"):
        reply = await owner.sim.send_other(owner.openid, kind)
        assert reply is not None and "文字" in reply
    assert await draft_of(redis_client, owner.openid) == before


# --- re-assessment and failures --------------------------------------------------------------


async def test_reassessment_keeps_history_and_shows_the_change(
    deploy: Deploy, sessions_on: Any,
) -> None:
    bot = await deploy()
    owner = bot.owner("o-again")
    code = credit_code(9)
    await owner.questionnaire(code)
    await owner.say("提交")

    # Next year, a colleague's phone: the archive is found and its profile reused.
    colleague = bot.owner("o-colleague")
    await colleague.say("开始测评")
    found = await colleague.say(code)
    assert "已有企业档案" in found and "济南鲁信机械有限公司" in found
    reused = await colleague.say("确认")
    assert "已沿用" in reused and reused.count(question_header(1)) == 1
    await colleague.says(BETTER_ANSWERS)
    result = await colleague.say("提交")
    assert "初步等级：三级" in result
    assert "较上次" in result and "等级提升" in result

    rows = await submissions(sessions_on)
    assert [r.level for r in rows] == [2, 3]
    assert rows[0].enterprise_id == rows[1].enterprise_id
    # The first owner's 结果 shows the enterprise's newest result with the change too.
    latest = await owner.say("结果")
    assert "较上次" in latest and "等级提升" in latest
    history = await archive.latest_results(sessions_on, credit_code=code, limit=5)
    assert len(history) == 2


async def test_database_failure_at_submit_keeps_the_draft(
    deploy: Deploy, redis_client: aioredis.Redis, sessions_on: Any,
) -> None:
    bot = await deploy()
    owner = bot.owner("o-dbdown")
    await owner.questionnaire(credit_code(10))
    draft = await draft_of(redis_client, owner.openid)

    async with sessions_on() as session:  # the submissions table goes away for a moment
        await session.execute(text("ALTER TABLE submissions RENAME TO submissions_away"))
        await session.commit()
    failed = await owner.say("提交")
    assert "暂时无法保存" in failed and "初步等级" not in failed
    assert await draft_of(redis_client, owner.openid) == draft

    async with sessions_on() as session:
        await session.execute(text("ALTER TABLE submissions_away RENAME TO submissions"))
        await session.commit()
    assert "初步等级：二级" in await owner.say("提交")
    assert len(await submissions(sessions_on)) == 1
    assert await draft_of(redis_client, owner.openid) is None


async def test_the_last_contact_is_recorded_for_customer_service_messages(
    deploy: Deploy, sessions_on: Any,
) -> None:
    bot = await deploy()
    owner = bot.owner("o-contact")
    assert await owner.sim.send_event(owner.openid, "subscribe")
    async with sessions_on() as session:
        person = await session.get(Person, person_key("oa", owner.openid))
        assert person is not None and person.last_message_at is None  # an event is no message
    await owner.say("帮助")
    async with sessions_on() as session:
        person = await session.get(Person, person_key("oa", owner.openid))
        assert person is not None and person.last_message_at is not None


async def test_owners_can_stop_and_restart_notices(deploy: Deploy, sessions_on: Any,
                                                   redis_client: aioredis.Redis) -> None:
    bot = await deploy()
    owner = bot.owner("o-quiet")
    await owner.start_with_profile(credit_code(11))
    before = await draft_of(redis_client, owner.openid)
    off = await owner.say("退订通知")
    assert "订阅通知" in off and "第 1/31 题" in off
    async with sessions_on() as session:
        person = await session.get(Person, person_key("oa", owner.openid))
        assert person is not None and person.notices_opt_out
    assert "重新收到" in await owner.say("订阅通知")
    async with sessions_on() as session:
        person = await session.get(Person, person_key("oa", owner.openid))
        assert person is not None and not person.notices_opt_out
    assert await draft_of(redis_client, owner.openid) == before  # the questionnaire is untouched
