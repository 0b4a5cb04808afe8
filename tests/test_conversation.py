"""The conversation state machine on its own: `handle`/`resume` with no Redis, database or HTTP.

A `Person` plays an owner: sends texts, menu clicks and events with fixed times and draft ids,
and performs the machine's requests against `FakeArchive`, an in-memory stand-in for what the
shell's archive would answer. Every step is checked the same way (`_checked`): the input state is
not touched, the outcome is deterministic, every reply and kept page fits WeChat's 2048 bytes,
and the state survives the store's encoding (`encode_state` -> `decode_state`) unchanged.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from bot.translations import translator
from flows.answers import check_answers
from flows.commands import KEYWORDS, MENU_KEYS, Command, Parsed, parse_command
from flows.commissioners import AreaProgress, NudgeReport, RosterEntry, RosterPage
from flows.conversation import handle, resume
from flows.events import (
    ArchiveFound,
    BindCode,
    BindRefused,
    CommissionerBound,
    Completion,
    Followed,
    Inbound,
    ListNotices,
    LoadResults,
    LoadRoster,
    LoadScopeProgress,
    LookupArchive,
    MenuClick,
    Message,
    NoticesListed,
    NotText,
    NudgeEnterprises,
    OtherEvent,
    Outcome,
    ProviderContactBound,
    Request,
    RequestFailed,
    ResultsLoaded,
    SetSubscription,
    SignUpDone,
    SignUpFor,
    Submit,
    Submitted,
    SubscriptionSet,
    Text,
    Unfollowed,
    WithdrawDone,
    WithdrawFrom,
)
from flows.indicators import DEFAULT_SET_ID, builtin_sets, decode, parse_indicator_set
from flows.messages import questionnaire
from flows.notices import NoticeItem
from flows.profile import PROFILE_FIELDS, builtin_reference, credit_code_check_char
from flows.results import assessment_data
from flows.scoring import assess
from flows.state import (
    REVIEW,
    ConfirmArchive,
    ConfirmFigures,
    ConfirmRestart,
    Context,
    Draft,
    PastResult,
    Pending,
    State,
)
from storage.conversations import decode_state, encode_state

CTX = Context(sets=builtin_sets(), default_set=DEFAULT_SET_ID, reference=builtin_reference(),
              tr=translator("zh_CN"))
ISET = CTX.iset(None)
LIMIT = 2048  # WeChat's passive text reply, in UTF-8 bytes
NOW = 1_730_000_000  # 2024-10-27 11:33 China time
DATE = "2024-10-27"
MORE_HINT = "（回复「更多」查看后续内容）"


def event(name: str) -> Message:
    """What the shell makes of a WeChat event (bot.chat.responder)."""
    return {"subscribe": Followed(), "unsubscribe": Unfollowed()}.get(name, OtherEvent(name))


def credit_code(serial: int) -> str:
    """A valid unified social credit code (GB 32100-2015) for a made-up Jinan company."""
    first17 = f"91370100MA{serial:07d}"
    return first17 + credit_code_check_char(first17)


CODE = credit_code(1)
NAME = "济南鲁信机械有限公司"
PROFILE: dict[str, Any] = {"credit_code": CODE, "name": NAME, "city": "济南市",
                           "county": "历下区", "industry": "C", "industry_division": "34",
                           "employees": 120}
PROFILE_REPLIES = [NAME, "1", "历下区", "C", "34", "120"]
# One reply per question and scene, in order: every accepted answer shape appears somewhere.
ANSWERS = ["B C", "C", "b", "BC", "2", "B、C", "ＢＣ", "B", "B,C", "B", "C", "C", "B", "B", "B",
           "2", "3", "1", "2", "3级", "2", "2", "二", "2", "2", "2", "2", "2", "1", "1", "0"]
EXPECTED_ANSWERS: dict[str, Any] = {
    "B1": ["B", "C"], "B2": "C", "B3": "B", "B4": ["B", "C"], "B5": "B", "B6": ["B", "C"],
    "B7": ["B", "C"], "M1": "B", "M2": ["B", "C"], "M3": ["B"], "M4": "C", "R1": "C",
    "R2": "B", "R3": "B", "R4": "B",
    "S01": 2, "S02": 3, "S03": 1, "S04": 2, "S05": 3, "S06": 2, "S07": 2, "S08": 2, "S09": 2,
    "S10": 2, "S11": 2, "S12": 2, "S13": 2, "S14": 1, "S15": 1, "S16": 0,
}
BETTER_ANSWERS = ["B C D", "E", "E", "BCDEFGHI", "D", "BCD", "BCD", "E", "BCDE", "BCD", "C",
                  "C", "C", "C", "C", *["3"] * 16]


# --- the checks every step gets ---------------------------------------------------------------

def _roundtrip(state: State) -> None:
    assert decode_state(encode_state(state)) == state


def _checked(outcome: Outcome) -> Outcome:
    if outcome.reply is not None:
        assert outcome.reply.strip()
        assert len(outcome.reply.encode("utf-8")) <= LIMIT, outcome.reply
    for page in outcome.state.pages:
        assert len(page.encode("utf-8")) <= LIMIT
    _roundtrip(outcome.state)
    return outcome


def _handle(ctx: Context, state: State, inbound: Inbound) -> Outcome:
    before = copy.deepcopy(state)
    outcome = handle(ctx, state, inbound)
    assert state == before, "handle changed its input state"
    assert handle(ctx, state, inbound) == outcome, "handle is not deterministic"
    return _checked(outcome)


def _resume(ctx: Context, state: State, completion: Completion) -> Outcome:
    before = copy.deepcopy(state)
    outcome = resume(ctx, state, completion)
    assert state == before, "resume changed its input state"
    assert resume(ctx, state, completion) == outcome, "resume is not deterministic"
    return _checked(outcome)


# --- the outside world, in memory -------------------------------------------------------------

@dataclass
class FakeArchive:
    """Answers requests like the shell's archive: profiles by credit code, results newest first,
    idempotent submissions by draft id. `failing` request types come back as RequestFailed."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: list[PastResult] = field(default_factory=list)
    submitted: set[str] = field(default_factory=set)
    failing: set[type] = field(default_factory=set)
    subscribed: bool | None = None

    def carry_out(self, request: Request) -> Completion:
        if type(request) in self.failing:
            return RequestFailed(request)
        if isinstance(request, LookupArchive):
            profile = self.profiles.get(request.credit_code)
            return ArchiveFound(None if profile is None else dict(profile))
        if isinstance(request, Submit):
            if request.draft_id not in self.submitted:
                self.submitted.add(request.draft_id)
                profile = dict(request.profile)
                self.profiles[profile["credit_code"]] = profile
                self.results.insert(0, past_result(request))
            return Submitted(tuple(self.results[:2]))
        if isinstance(request, LoadResults):
            return ResultsLoaded(tuple(self.results[:2]))
        assert isinstance(request, SetSubscription)
        self.subscribed = request.subscribed
        return SubscriptionSet(request.subscribed)


def past_result(request: Submit) -> PastResult:
    """What the archive gives back for a submission (its data through JSON, as stored)."""
    data = json.loads(json.dumps(request.data, default=str), parse_float=Decimal)
    return PastResult(level=request.assessment.level, level_name=request.assessment.level_name,
                      total=request.assessment.total, submitted_at=request.submitted_at,
                      enterprise_name=request.profile["name"], data=data)


class Person:
    """One owner's chat: a minute passes between messages; each message brings a new draft id."""

    def __init__(self, state: State | None = None, *, archive: FakeArchive | None = None,
                 ctx: Context = CTX) -> None:
        self.ctx = ctx
        self.state = state if state is not None else State()
        self.archive = archive if archive is not None else FakeArchive()
        self.now = NOW
        self.serial = 0
        self.requests: list[Request] = []
        self.replies: list[str | None] = []

    def inbound(self, message: Message) -> Inbound:
        self.now += 60
        self.serial += 1
        return Inbound(message, now=self.now, new_id=f"draft-{self.serial}")

    def act(self, inbound: Inbound) -> str | None:
        """Handle `inbound` and perform every request it leads to against the archive."""
        outcome = _handle(self.ctx, self.state, inbound)
        while outcome.request is not None:
            self.requests.append(outcome.request)
            outcome = _resume(self.ctx, outcome.state, self.archive.carry_out(outcome.request))
        self.state = outcome.state
        self.replies.append(outcome.reply)
        return outcome.reply

    def say(self, text: str) -> str:
        reply = self.act(self.inbound(Text(text)))
        assert reply is not None
        return reply

    def click(self, key: str) -> str | None:
        return self.act(self.inbound(MenuClick(key)))

    def event(self, name: str) -> str | None:
        return self.act(self.inbound(event(name)))

    def send(self, msg_type: str) -> str:
        reply = self.act(self.inbound(NotText(msg_type)))
        assert reply is not None
        return reply

    def request(self, text: str) -> Request:
        """Send `text` and return the request it makes, not performed (see `complete`)."""
        outcome = _handle(self.ctx, self.state, self.inbound(Text(text)))
        assert outcome.reply is None and outcome.request is not None, outcome
        self.state = outcome.state
        return outcome.request

    def complete(self, completion: Completion) -> str | None:
        outcome = _resume(self.ctx, self.state, completion)
        assert outcome.request is None
        self.state = outcome.state
        return outcome.reply

    @property
    def draft(self) -> Draft:
        assert self.state.draft is not None
        return self.state.draft

    def snapshot(self) -> dict[str, Any]:
        """The state as stored, but for the time of the last message (which every message sets)."""
        data = json.loads(encode_state(self.state))
        del data["last_active"]
        return data

    def prompt(self) -> str:
        """The current step asked in full, as the machine words it."""
        draft = self.draft
        return questionnaire.prompt(self.ctx, draft)


def state_at(step: str, *, answers: Mapping[str, Any] | None = None,
             figures: Mapping[str, str] | None = None, pending: Pending | None = None,
             profile: Mapping[str, Any] | None = None) -> State:
    """A draft at `step`: the profile up to it (all of it past the profile) and, by default,
    every question before it answered as EXPECTED_ANSWERS."""
    if profile is None:
        profile = ({k: v for k, v in PROFILE.items()
                    if PROFILE_FIELDS.index(k) < PROFILE_FIELDS.index(step)}
                   if step in PROFILE_FIELDS else PROFILE)
    if answers is None:
        codes = (ISET.codes if step == REVIEW else
                 ISET.codes[:ISET.codes.index(step)] if step in ISET.codes else ())
        answers = {code: EXPECTED_ANSWERS[code] for code in codes}
    draft = Draft(id="draft-0", set_id=DEFAULT_SET_ID, started_at=NOW - 3600,
                  updated_at=NOW - 60, step=step, profile=copy.deepcopy(dict(profile)),
                  answers=copy.deepcopy(dict(answers)), figures=dict(figures or {}),
                  pending=pending)
    return State(draft=draft, last_active=NOW - 60)


def header(n: int) -> str:
    return f"第 {n}/{len(ISET.codes)} 题"


def number_of(code: str) -> int:
    return ISET.codes.index(code) + 1


def play_to_review(person: Person, answers: list[str] = ANSWERS) -> str:
    """Start, give the profile and answer everything; the last reply (the review)."""
    person.say("开始测评")
    person.say(CODE)
    for reply in PROFILE_REPLIES:
        person.say(reply)
    assert person.draft.step == "B1"
    reply = ""
    for answer in answers:
        reply = person.say(answer)
    assert person.draft.step == REVIEW
    return reply


# --- keywords ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("开始测评", Parsed(Command.START)), ("开始测评！", Parsed(Command.START)),
    ("  开始  ", Parsed(Command.START)), ("START", Parsed(Command.START)),
    ("评测", Parsed(Command.START)),
    ("继续", Parsed(Command.CONTINUE)), ("继续。", Parsed(Command.CONTINUE)),
    ("继续答题", Parsed(Command.CONTINUE)),
    ("进度", Parsed(Command.PROGRESS)), ("查看进度", Parsed(Command.PROGRESS)),
    ("上一题", Parsed(Command.PREVIOUS)), ("返回", Parsed(Command.PREVIOUS)),
    ("上一步", Parsed(Command.PREVIOUS)),
    ("修改 7", Parsed(Command.EDIT, "7")), ("修改7", Parsed(Command.EDIT, "7")),
    ("修改第7题", Parsed(Command.EDIT, "7")), ("修改 第 12 题", Parsed(Command.EDIT, "12")),
    ("改 3", Parsed(Command.EDIT, "3")), ("修改 s01", Parsed(Command.EDIT, "S01")),
    ("edit b2", Parsed(Command.EDIT, "B2")), ("修改 ７", Parsed(Command.EDIT, "7")),
    ("重新开始", Parsed(Command.RESTART)), ("重来", Parsed(Command.RESTART)),
    ("说明", Parsed(Command.EXPLAIN)), ("解释", Parsed(Command.EXPLAIN)),
    ("帮助", Parsed(Command.HELP)), ("？", Parsed(Command.HELP)), ("菜单", Parsed(Command.HELP)),
    ("结果", Parsed(Command.RESULT)), ("查看结果", Parsed(Command.RESULT)),
    ("提交", Parsed(Command.SUBMIT)), ("确认提交", Parsed(Command.SUBMIT)),
    ("更多", Parsed(Command.MORE)), ("下一页", Parsed(Command.MORE)),
    ("确认", Parsed(Command.CONFIRM)), ("好的", Parsed(Command.CONFIRM)),
    ("OK", Parsed(Command.CONFIRM)),
    ("取消", Parsed(Command.CANCEL)), ("不用", Parsed(Command.CANCEL)),
    ("B", None), ("开始测评吧", None), ("修改", None), ("修改 123", None), ("45/120", None),
    ("", None),
])
def test_keywords_and_their_variants(text: str, expected: Parsed | None) -> None:
    assert parse_command(text) == expected


def test_every_keyword_is_a_command() -> None:
    for command, words in KEYWORDS.items():
        for word in words:
            assert parse_command(word) == Parsed(command), word


def test_start_creates_a_draft_at_the_credit_code() -> None:
    p = Person()
    reply = p.say("开始测评")
    assert reply == ("开始测评：先填写几项企业信息，然后共 31 道题。\n\n"
                     "企业信息 1/6\n请输入企业的统一社会信用代码（18 位，见营业执照）。")
    draft = p.draft
    assert (draft.id, draft.set_id, draft.step) == ("draft-1", DEFAULT_SET_ID, "credit_code")
    assert draft.started_at == draft.updated_at == p.now == p.state.last_active
    assert (draft.profile, draft.answers, draft.figures, draft.pending) == ({}, {}, {}, None)


NO_DRAFT = "您没有进行中的测评。回复「开始测评」开始，或回复「结果」查看最近结果。"


@pytest.mark.parametrize("text", ["继续", "进度", "上一题", "修改 3", "重新开始", "说明", "提交",
                                  "确认", "取消"])
def test_keywords_without_a_draft(text: str) -> None:
    p = Person()
    assert p.say(text) == NO_DRAFT
    assert p.state.draft is None and p.requests == []


def test_text_without_a_draft_gets_the_welcome() -> None:
    p = Person()
    reply = p.say("你好")
    assert reply.startswith("欢迎关注！在这里可以按《中小企业数字化水平评测指标（2024年版）》")
    assert "15 道评分题和 16 个业务场景" in reply
    assert reply.endswith("回复「开始测评」开始，回复「帮助」查看全部指令。")
    assert p.state.draft is None


def test_start_and_continue_with_a_draft_resume_it() -> None:
    for word in ("继续", "开始测评", "继续测评"):
        p = Person(state_at("B3"))
        before = p.snapshot()
        assert p.say(word) == "欢迎回来，您当前在第 3/31 题。\n\n" + p.prompt()
        assert p.snapshot() == before
    p = Person(state_at("county"))
    assert p.say("继续").startswith("欢迎回来，您当前在企业信息填写。\n\n企业信息 4/6\n")


@pytest.mark.parametrize(("step", "answered", "where"), [
    ("credit_code", 0, "企业信息填写"),
    ("employees", 0, "企业信息填写"),
    ("B1", 0, "第 1/31 题"),
    ("B7", 6, "第 7/31 题"),
    ("S01", 15, "第 16/31 题"),
    (REVIEW, 31, "答案核对"),
])
def test_progress(step: str, answered: int, where: str) -> None:
    p = Person(state_at(step))
    before = p.snapshot()
    assert p.say("进度") == f"进度：已答 {answered}/31 题，当前在{where}。回复「继续」接着答题。"
    assert p.snapshot() == before


def test_question_header_shows_the_position() -> None:
    p = Person(state_at("B6"))
    reply = p.say("B C")
    assert reply.startswith("第 7/31 题 · 数字化基础 › 信息安全（多选）\nB7 ")
    assert p.draft.step == "B7"
    reply = p.say("B")
    assert reply.startswith("第 8/31 题 · 数字化管理 › 规划管理（单选）\nM1 ")
    p = Person(state_at("R4"))
    assert p.say("B").startswith("第 16/31 题 · 数字化经营 › 产品生命周期数字化（约束性场景）\n"
                                 "S01 产品设计：请选择企业已完全达到的最高等级\n0. 未开展\n1. ")


@pytest.mark.parametrize(("step", "previous", "first_line"), [
    ("name", "credit_code", "企业信息 1/6"),
    ("employees", "industry_division", "企业信息 6/7"),
    ("B1", "employees", "企业信息 7/7"),
    ("B3", "B2", "第 2/31 题 · 数字化基础 › 设备系统（单选）"),
    ("S01", "R4", "第 15/31 题 · 数字化成效 › 市场效益（单选）"),
    (REVIEW, "S16", "第 31/31 题 · 数字化经营 › 管理决策数字化（场景）"),
])
def test_previous_goes_one_step_back(step: str, previous: str, first_line: str) -> None:
    p = Person(state_at(step))
    answers = dict(p.draft.answers)
    reply = p.say("上一题")
    assert p.draft.step == previous
    assert reply == p.prompt() and reply.splitlines()[0] == first_line
    assert p.draft.answers == answers and p.draft.return_to is None


def test_previous_shows_the_current_answer_and_forgets_edits() -> None:
    p = Person(state_at("B3"))
    assert "\n当前答案：C\n" in p.say("上一题")
    p = Person(state_at("B1"))
    assert p.say("上一题").endswith("请输入企业员工人数。\n当前答案：120")
    p = Person(state_at("B5"))
    p.say("修改 2")
    assert p.draft.return_to == "B5"
    p.say("上一题")
    assert (p.draft.step, p.draft.return_to) == ("B1", None)


def test_previous_at_the_first_step() -> None:
    p = Person(state_at("credit_code"))
    before = p.snapshot()
    assert p.say("上一题") == "已经是第一步了。\n\n" + p.prompt()
    assert p.snapshot() == before


@pytest.mark.parametrize("command", ["修改 2", "修改第2题", "改2", "修改 B2", "edit b2"])
def test_edit_then_return_to_where_you_were(command: str) -> None:
    p = Person(state_at("B5"))
    reply = p.say(command)
    assert (p.draft.step, p.draft.return_to) == ("B2", "B5")
    assert reply == p.prompt()
    assert reply.startswith(header(2)) and "\n当前答案：C\n" in reply
    reply = p.say("D")
    assert p.draft.answers["B2"] == "D"
    assert (p.draft.step, p.draft.return_to) == ("B5", None)
    assert reply.startswith(header(5))
    assert p.draft.updated_at == p.now


def test_edit_a_later_question_and_a_second_edit_keep_the_first_return() -> None:
    p = Person(state_at("B3"))
    p.say("修改 10")
    assert (p.draft.step, p.draft.return_to) == ("M3", "B3")
    p.say("修改 S02")
    assert (p.draft.step, p.draft.return_to) == ("S02", "B3")
    p.say("4")
    assert p.draft.answers["S02"] == 4
    assert (p.draft.step, p.draft.return_to) == ("B3", None)
    assert "M3" not in p.draft.answers


def test_edit_the_current_question_is_just_the_question() -> None:
    p = Person(state_at("B3"))
    p.say("修改 3")
    assert (p.draft.step, p.draft.return_to) == ("B3", None)
    p.say("B")
    assert p.draft.step == "B4"


@pytest.mark.parametrize("command", ["修改 0", "修改 32", "修改 99", "修改 X9", "修改 B9"])
def test_edit_of_no_such_question(command: str) -> None:
    p = Person(state_at("B3"))
    before = p.snapshot()
    assert p.say(command) == ("没有这道题：请用 1–31 的题号，例如「修改 7」。\n\n" + p.prompt())
    assert p.snapshot() == before


def test_restart_asks_first_and_cancel_keeps_everything() -> None:
    p = Person(state_at("B3"))
    before = p.snapshot()
    assert p.say("重新开始") == ("确定重新开始吗？已答的 2 道题和企业信息将被清空。回复「确认」"
                                 "重新开始，回复「取消」保留。")
    assert p.draft.pending == ConfirmRestart()
    # an answer does not sneak past the question
    asked = p.snapshot()
    assert p.say("B").startswith("确定重新开始吗？")
    assert p.snapshot() == asked
    assert p.say("取消") == "已取消，答案都还在。\n\n" + p.prompt()
    assert p.snapshot() == before


def test_restart_confirmed_starts_a_new_draft() -> None:
    p = Person(state_at("B3"))
    p.say("重来")
    reply = p.say("确认")
    assert reply == "已清空答案，重新开始。\n\n" + p.prompt()
    assert reply.endswith("企业信息 1/6\n请输入企业的统一社会信用代码（18 位，见营业执照）。")
    draft = p.draft
    assert (draft.id, draft.step, draft.profile, draft.answers, draft.figures) == (
        f"draft-{p.serial}", "credit_code", {}, {}, {})
    assert draft.started_at == draft.updated_at == p.now
    assert draft.pending is None


@pytest.mark.parametrize(("step", "expected"), [
    ("B1", "B1 企业网络建设连接情况\n本题没有补充说明。\n"
           "请选择企业已实际做到的全部选项，每项都计分，本题最高 8 分。"),
    ("B2", "B2 企业的生产设备数字化率\n设备数字化率=数字化生产设备数量/生产设备总数量×100%\n"
           "请选择与企业当前实际情况相符的选项。\n也可以按顺序回复数据，用 / 分隔："
           "实现数字化的生产设备数量（台） / 生产设备数量（台）。"),
    ("S01", "S01 产品设计：请对照各等级描述与企业当前实际，回复完全达到的最高等级；"
            "都不满足回复 0。\n这是约束性场景：每个等级都要求一定数量的约束性场景达标。"),
    ("S02", "S02 工艺设计：请对照各等级描述与企业当前实际，回复完全达到的最高等级；"
            "都不满足回复 0。"),
    ("city", "这些信息用于建立企业档案（一企一档），统一社会信用代码见营业执照，"
             "将随测评一并保存。"),
    (REVIEW, "全部题目已作答。回复「提交」提交测评，或回复「修改 N」修改第 N 题。"),
])
def test_explain(step: str, expected: str) -> None:
    p = Person(state_at(step))
    before = p.snapshot()
    assert p.say("说明") == expected
    assert p.snapshot() == before


def test_help() -> None:
    p = Person()
    reply = p.say("帮助")
    lines = reply.splitlines()
    assert lines[0] == "可用指令："
    for word in ("开始测评", "继续", "进度", "上一题", "修改 N", "说明", "重新开始", "提交", "结果",
                 "更多"):
        assert any(line.startswith(word + "：") for line in lines), word
    assert "您当前在" not in reply
    p = Person(state_at("B4"))
    assert p.say("帮助").endswith("\n您当前在第 4/31 题。")


# --- menu clicks and events -------------------------------------------------------------------

WORD_OF_MENU_KEY = {"start": "开始测评", "continue": "继续", "result": "结果", "help": "帮助"}


def test_every_menu_key_is_known() -> None:
    assert set(MENU_KEYS) == set(WORD_OF_MENU_KEY)


@pytest.mark.parametrize("key", sorted(WORD_OF_MENU_KEY))
@pytest.mark.parametrize("state", [State(), state_at("B4")], ids=["no draft", "draft"])
def test_a_menu_click_does_what_its_keyword_does(key: str, state: State) -> None:
    clicked = _handle(CTX, state, Inbound(MenuClick(key), now=NOW, new_id="d"))
    typed = _handle(CTX, state, Inbound(Text(WORD_OF_MENU_KEY[key]), now=NOW, new_id="d"))
    assert clicked == typed
    upper = _handle(CTX, state, Inbound(MenuClick(key.upper()), now=NOW, new_id="d"))
    assert upper == clicked


def test_menu_clicks_play_out() -> None:
    p = Person(archive=FakeArchive())
    assert p.click("continue") == NO_DRAFT
    assert p.click("start").startswith("开始测评：")
    assert p.draft.step == "credit_code"
    assert p.click("continue").startswith("欢迎回来，您当前在企业信息填写。")
    assert p.click("result").startswith("还没有提交过测评。")
    assert p.requests == [LoadResults()]
    assert p.click("help").startswith("可用指令：")
    assert p.click("no-such-key").startswith("可用指令：")  # an unknown key: show what there is


def test_subscribe_and_unsubscribe() -> None:
    archive = FakeArchive()
    p = Person(archive=archive)
    reply = p.event("subscribe")
    assert reply is not None and reply.startswith("欢迎关注！")
    assert reply.endswith("回复「开始测评」开始，回复「帮助」查看全部指令。")
    assert archive.subscribed is True and p.requests == [SetSubscription(True)]
    p.say("开始测评")
    draft = p.snapshot()["draft"]
    assert p.event("unsubscribe") is None
    assert archive.subscribed is False
    assert p.snapshot()["draft"] == draft
    reply = p.event("subscribe")
    assert reply is not None
    assert reply.endswith("您有一份未完成的测评（企业信息填写），回复「继续」接着答。")
    assert p.snapshot()["draft"] == draft


def test_subscription_that_could_not_be_recorded_still_welcomes() -> None:
    outcome = _handle(CTX, State(), Inbound(Followed(), now=NOW))
    assert (outcome.reply, outcome.request) == (None, SetSubscription(True))
    welcome = _resume(CTX, outcome.state, RequestFailed(SetSubscription(True)))
    assert welcome.reply is not None and welcome.reply.startswith("欢迎关注！")
    assert welcome == _resume(CTX, outcome.state, SubscriptionSet(True))
    silent = _resume(CTX, outcome.state, RequestFailed(SetSubscription(False)))
    assert (silent.reply, silent.request) == (None, None)


@pytest.mark.parametrize("name", ["view", "scan", "location", "templatesendjobfinish"])
def test_other_events_need_no_answer(name: str) -> None:
    state = state_at("B4")
    outcome = _handle(CTX, state, Inbound(event(name), now=NOW))
    assert (outcome.reply, outcome.request) == (None, None)
    assert outcome.state.draft == state.draft


@pytest.mark.parametrize("msg_type", ["image", "voice", "video", "shortvideo", "location", "link",
                                      "file"])
def test_non_text_messages_get_a_short_hint_and_change_nothing(msg_type: str) -> None:
    p = Person(state_at("B4"))
    before = p.snapshot()
    reply = p.send(msg_type)
    assert reply == "目前只能识别文字消息。 您当前在第 4/31 题，回复「继续」查看题目。"
    assert p.snapshot() == before and p.state.last_active == p.now
    p = Person()
    assert p.send(msg_type) == ("目前只能识别文字消息。 回复「开始测评」开始，回复「帮助」"
                                "查看全部指令。")
    assert p.state.draft is None


# --- the profile ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "code"), [
    (CODE, CODE),
    (credit_code(9_999_999), credit_code(9_999_999)),
    ("91350100M000100Y43", "91350100M000100Y43"),  # the GB 32100-2015 example
    ("91350100m000100y43", "91350100M000100Y43"),
    ("9135 0100 M000 100Y 43", "91350100M000100Y43"),
    ("913501-00M000100-Y43", "91350100M000100Y43"),
    ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"),
])
def test_credit_code_accepted_then_archive_looked_up(text: str, code: str) -> None:
    p = Person(state_at("credit_code"))
    assert p.request(text) == LookupArchive(code)
    assert p.draft.profile == {"credit_code": code} and p.draft.updated_at == p.now
    reply = p.complete(ArchiveFound(None))
    assert reply == "企业信息 2/6\n请输入企业名称（与营业执照一致）。"
    assert p.draft.step == "name"


def test_the_check_character_is_computed_per_gb_32100() -> None:
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert credit_code_check_char("91370100MA0000001") == CODE[-1]


def _letter_in(code: str, letter: str) -> str:
    return code[:10] + letter + code[11:]


INVALID: list[tuple[str, str, str]] = [
    # (step, text, the one-line explanation)
    ("credit_code", "9137010", "统一社会信用代码应为 18 位，您输入了 7 位。"),
    ("credit_code", CODE + "1", "统一社会信用代码应为 18 位，您输入了 19 位。"),
    ("credit_code", "", "统一社会信用代码应为 18 位，您输入了 0 位。"),
    ("credit_code", "营业执照", "统一社会信用代码应为 18 位，您输入了 4 位。"),
    *[("credit_code", _letter_in(CODE, letter),
       f"统一社会信用代码中不能有“{letter}”（不使用 I、O、S、V、Z）。") for letter in "IOSVZ"],
    ("credit_code", CODE[:17] + ("1" if CODE[-1] != "1" else "2"),
     "该统一社会信用代码校验位不正确，请对照营业执照核对。"),
    ("credit_code", "91350100M000100Y44", "该统一社会信用代码校验位不正确，请对照营业执照核对。"),
    ("name", "鲁", "企业名称应为 2–60 个字。"),
    ("name", "鲁" * 61, "企业名称应为 2–60 个字。"),
    ("name", "   ", "企业名称应为 2–60 个字。"),
    ("city", "0", "请回复 1–16 的序号或列表中的城市名称。"),
    ("city", "17", "请回复 1–16 的序号或列表中的城市名称。"),
    ("city", "北京", "请回复 1–16 的序号或列表中的城市名称。"),
    ("city", "济南市历下区", "请回复 1–16 的序号或列表中的城市名称。"),
    ("city", "9" * 5000, "请回复 1–16 的序号或列表中的城市名称。"),
    ("city", "᧚", "请回复 1–16 的序号或列表中的城市名称。"),  # a digit int() cannot read
    ("county", "区", "请填写所在县（市、区），例如 历下区（2–20 个字）。"),
    ("county", "区" * 21, "请填写所在县（市、区），例如 历下区（2–20 个字）。"),
    ("industry", "Z", "请回复行业门类字母，例如制造业回复 C。"),
    ("industry", "13", "请回复行业门类字母，例如制造业回复 C。"),
    ("industry", "CC", "请回复行业门类字母，例如制造业回复 C。"),
    ("industry_division", "12", "请回复行业大类的两位代码，例如 13。"),
    ("industry_division", "99", "请回复行业大类的两位代码，例如 13。"),
    ("industry_division", "C12", "请回复行业大类的两位代码，例如 13。"),
    ("industry_division", "制造", "请回复行业大类的两位代码，例如 13。"),
    *[("employees", text, "请用整数填写员工人数，例如 120。")
      for text in ("0", "-5", "12.5", "abc", "一百", "10000001", "")],
    # single choice (B5: A–E, no figures)
    ("B5", "BC", "B5：本题为单选题，请只给出一个选项字母，不要用列表"),
    ("B5", "B C", "B5：本题为单选题，请只给出一个选项字母，不要用列表"),
    ("B5", "2 3", "B5：本题为单选题，请只给出一个选项字母，不要用列表"),
    ("B5", "F", "B5：没有选项 F（可选：A, B, C, D, E）"),
    *[("B5", text, "请回复一个选项字母（A、B、C、D、E）或其序号。")
      for text in ("6", "0", "hello", "", "   ", "B。", "选B", "9" * 5000, "᧚", "👍")],
    # multiple choice (B1: A 无 is exclusive)
    ("B1", "A B", "B1：选项 A（无）不能与其他选项同时选择"),
    ("B1", "A、C", "B1：选项 A（无）不能与其他选项同时选择"),
    ("B1", "AB", "B1：选项 A（无）不能与其他选项同时选择"),
    ("B1", "B Z", "B1：没有选项 Z（可选：A, B, C, D, E）"),
    *[("B1", text, "请回复选项字母（A、B、C、D、E），例如 B C、BC 或 B、C。")
      for text in ("BZ", "无", "6", "B和C", "1 6")],
    # a keyword that has nothing to do here
    ("B1", "y", "当前没有需要确认的内容。"),
    ("B1", "取消", "当前没有需要确认的内容。"),
    ("S03", "确认", "当前没有需要确认的内容。"),
    ("name", "好的", "当前没有需要确认的内容。"),
    ("B1", "修改 32", "没有这道题：请用 1–31 的题号，例如「修改 7」。"),
    # scenes: a level 0–4
    ("S01", "5", "S01：场景等级应为 0 到 4 的整数"),
    ("S01", "10级", "S01：场景等级应为 0 到 4 的整数"),
    *[("S01", text, "请回复等级 0–4。")
      for text in ("-1", "3.5", "B", "五", "", "level 3", "9" * 5000, "᧚")],
    # figures
    ("B2", "-5/120", "实现数字化的生产设备数量（台）：不能为负数"),
    ("B2", "130/120", "B2：实现数字化的生产设备数量（台）（130）不能大于生产设备数量（台）（120）"),
    ("B2", "0/0", "B2：生产设备数量（台）不能为 0"),
    ("B2", "5/0", "B2：生产设备数量（台）不能为 0"),
    ("B2", "9" * 3000 + "/1", "实现数字化的生产设备数量（台）：必须是数字"),
    *[("B2", text, "也可以按顺序回复数据，用 / 分隔：实现数字化的生产设备数量（台） / "
                   "生产设备数量（台）。") for text in ("45", "1/2/3", "45，120")],
    ("M4", "500/100/100", "M4：按填报数据计算为 500%，超过最高档（100%），请核对数据"),
    ("R1", "1/0/1/1", "R1：上年营业收入（万元）不能为 0"),
    ("R3", "1/1/1/0", "R3：前年员工人数（人）不能为 0"),
    # the review takes no answers
    (REVIEW, "B", "全部题目已作答。回复「提交」提交测评，或回复「修改 N」修改第 N 题。"),
]


@pytest.mark.parametrize(("step", "text", "line"), INVALID,
                         ids=[f"{s}:{t[:12]!r}" for s, t, _ in INVALID])
def test_invalid_input_is_explained_and_changes_nothing(step: str, text: str, line: str) -> None:
    p = Person(state_at(step))
    before = p.snapshot()
    reply = p.say(text)
    assert p.snapshot() == before
    assert p.state.last_active == p.now and p.requests == []
    assert reply == line + "\n\n" + p.prompt()
    assert "\n" not in line


def test_invalid_input_never_raises_anywhere() -> None:
    """Odd input at every step of the questionnaire: explained, never an exception."""
    odd = ["", " ", "\n", "᧚", "9" * 5000, "-", "/", "//1", "１/０", "B" * 3000, "\x00", "🙂" * 900,
           "修改", "A/B", "1e9/1", "NaN", "-0/1", "3 级"]
    for step in [*PROFILE_FIELDS, *ISET.codes, REVIEW]:
        for text in odd:
            p = Person(state_at(step))
            p.act(p.inbound(Text(text)))


@pytest.mark.parametrize(("text", "city"), [
    *[(str(n), city) for n, city in enumerate(CTX.reference.cities, 1)],
    *[(city, city) for city in CTX.reference.cities],
    *[(city.removesuffix("市"), city) for city in CTX.reference.cities],
    ("山东省青岛市", "青岛市"), ("山东烟台", "烟台市"), ("１６", "菏泽市"), (" 济南 ", "济南市"),
])
def test_the_sixteen_cities(text: str, city: str) -> None:
    p = Person(state_at("city"))
    reply = p.say(text)
    assert p.draft.profile["city"] == city
    assert p.draft.step == "county"
    assert reply == "企业信息 4/6\n企业所在县（市、区）？例如：历下区。"


def test_the_city_list_is_numbered() -> None:
    assert len(CTX.reference.cities) == 16
    reply = Person(state_at("name")).say(NAME)
    assert reply.splitlines()[:3] == ["企业信息 3/6", "企业所在城市？请回复序号或名称：",
                                      "1. 济南市"]
    assert reply.endswith("\n16. 菏泽市")


@pytest.mark.parametrize(("step", "text", "value", "next_step"), [
    ("name", NAME, NAME, "city"),
    ("name", "  济南  鲁信 机械 ", "济南 鲁信 机械", "city"),
    ("name", "鲁信", "鲁信", "city"),
    ("name", "鲁" * 60, "鲁" * 60, "city"),
    ("county", "历下区", "历下区", "industry"),
    ("county", "历 下 区", "历下区", "industry"),
    ("county", "章丘区", "章丘区", "industry"),
    ("industry", "C", "C", "industry_division"),
    ("industry", "c", "C", "industry_division"),
    ("industry", "制造业", "C", "industry_division"),
    ("industry", "Ｃ", "C", "industry_division"),
    ("industry", "F", "F", "employees"),
    ("industry", "I", "I", "employees"),
    ("industry_division", "34", "34", "employees"),
    ("industry_division", "C34", "34", "employees"),
    ("industry_division", "通用设备制造业", "34", "employees"),
    ("industry_division", "１３", "13", "employees"),
    ("employees", "120", 120, "B1"),
    ("employees", "120人", 120, "B1"),
    ("employees", "1,200", 1200, "B1"),
    ("employees", "１２０", 120, "B1"),
    ("employees", "1", 1, "B1"),
    ("employees", "10000000", 10_000_000, "B1"),
])
def test_profile_answers(step: str, text: str, value: Any, next_step: str) -> None:
    p = Person(state_at(step))
    p.say(text)
    assert p.draft.profile[step] == value
    assert p.draft.step == next_step and p.draft.updated_at == p.now


def test_manufacturing_asks_the_division_and_other_sections_do_not() -> None:
    p = Person(state_at("industry"))
    reply = p.say("C")
    assert reply.splitlines()[:3] == ["企业信息 6/7", "所属制造业行业大类？请回复两位代码：",
                                      "13 农副食品加工业"]
    assert reply.endswith("\n43 金属制品、机械和设备修理业")
    assert p.say("34") == "企业信息 7/7\n请输入企业员工人数。"
    p.say("120")
    # back to the section, change it: the division goes with it
    for _ in range(3):
        p.say("上一题")
    assert p.draft.step == "industry"
    assert p.say("F") == "企业信息 6/6\n请输入企业员工人数。\n当前答案：120"
    assert "industry_division" not in p.draft.profile
    p.say("上一题")
    p.say("C")
    assert p.draft.step == "industry_division" and "industry_division" not in p.draft.profile


def test_the_whole_profile_by_chat() -> None:
    p = Person()
    p.say("开始测评")
    p.say(CODE)
    for text in PROFILE_REPLIES:
        p.say(text)
    assert p.draft.profile == PROFILE
    assert p.draft.step == "B1"
    assert p.replies[-1].startswith("第 1/31 题 · 数字化基础 › 设备系统（多选）\n"
                                    "B1 企业网络建设连接情况\n")
    assert p.requests == [LookupArchive(CODE)]


ARCHIVED = {"name": "济南鲁信机械有限公司", "credit_code": CODE, "city": "济南市",
            "county": "历下区", "industry": "C", "industry_division": "34", "employees": 120}


def test_archive_found_and_reused() -> None:
    p = Person(state_at("credit_code"), archive=FakeArchive(profiles={CODE: ARCHIVED}))
    reply = p.say(CODE)
    assert reply == ("该信用代码已有企业档案：济南鲁信机械有限公司，济南市历下区，员工 120 人。"
                     "回复「确认」沿用，回复「取消」重新填写。")
    assert p.draft.pending == ConfirmArchive(ARCHIVED)
    assert p.draft.step == "credit_code"
    reply = p.say("确认")
    assert reply == "已沿用档案中的企业信息。\n\n" + p.prompt()
    assert p.draft.profile == PROFILE
    assert (p.draft.step, p.draft.pending, p.draft.updated_at) == ("B1", None, p.now)


def test_archive_with_gaps_asks_only_what_is_missing() -> None:
    partial = {**ARCHIVED, "industry_division": None, "employees": None}
    p = Person(state_at("credit_code"), archive=FakeArchive(profiles={CODE: partial}))
    assert "员工 — 人" in p.say(CODE)
    reply = p.say("好的")
    assert reply.startswith("已沿用档案中的企业信息。\n\n企业信息 6/7\n所属制造业行业大类？")
    assert p.draft.step == "industry_division"
    assert "employees" not in p.draft.profile
    p.say("34")
    assert p.draft.step == "employees"
    p.say("80")
    assert p.draft.step == "B1" and p.draft.profile["employees"] == 80


def test_archive_found_but_cancelled_asks_the_profile_again() -> None:
    p = Person(state_at("credit_code"), archive=FakeArchive(profiles={CODE: ARCHIVED}))
    p.say(CODE)
    reply = p.say("取消")
    assert reply == "企业信息 2/6\n请输入企业名称（与营业执照一致）。"
    assert p.draft.profile == {"credit_code": CODE}
    assert (p.draft.step, p.draft.pending) == ("name", None)


def test_invalid_input_while_the_archive_waits_keeps_it_waiting() -> None:
    p = Person(state_at("credit_code"), archive=FakeArchive(profiles={CODE: ARCHIVED}))
    asked = p.say(CODE)
    before = p.snapshot()
    assert p.say("是个好名字") == "统一社会信用代码应为 18 位，您输入了 5 位。\n\n" + asked
    assert p.snapshot() == before
    p.say("确认")
    assert p.draft.step == "B1"


def test_another_credit_code_while_the_archive_waits_looks_that_one_up() -> None:
    other = credit_code(2)
    p = Person(state_at("credit_code"), archive=FakeArchive(profiles={CODE: ARCHIVED}))
    p.say(CODE)
    assert p.say(other) == "企业信息 2/6\n请输入企业名称（与营业执照一致）。"
    assert p.draft.profile == {"credit_code": other} and p.draft.pending is None
    assert p.requests == [LookupArchive(CODE), LookupArchive(other)]


def test_archive_lookup_that_failed_goes_on_with_the_profile() -> None:
    p = Person(state_at("credit_code"), archive=FakeArchive(failing={LookupArchive}))
    assert p.say(CODE) == "企业信息 2/6\n请输入企业名称（与营业执照一致）。"
    assert p.draft.profile == {"credit_code": CODE} and p.draft.pending is None


# --- questions and scenes ---------------------------------------------------------------------

ACCEPTED: list[tuple[str, str, Any]] = [
    # multiple choice
    *[("B1", text, ["B", "C"]) for text in (
        "B C", "BC", "B,C", "B、C", "ＢＣ", "Ｂ、Ｃ", "bc", "b c", "B，C", "B;C", "B；C", "B/C",
        "  B  C  ", "C B", "B B C", "2 3", "2、3", "2,3")],
    ("B1", "A", ["A"]), ("B1", "a", ["A"]), ("B1", "1", ["A"]), ("B1", "E", ["E"]),
    ("B1", "BCDE", ["B", "C", "D", "E"]), ("B1", "EDCB", ["B", "C", "D", "E"]),
    ("M3", "F", ["F"]), ("B4", "BCDEFGHI", list("BCDEFGHI")), ("B4", "15", ["O"]),
    # option letters that are also 确认/取消 words: answers while nothing waits for confirmation
    ("B4", "N", ["N"]), ("B4", "n", ["N"]), ("B4", "NO", ["N", "O"]), ("B4", "no", ["N", "O"]),
    ("B4", "OK", ["K", "O"]), ("B4", "ok", ["K", "O"]),
    # single choice
    *[("B5", text, "B") for text in ("B", "b", "2", "Ｂ", "２", " B ", "B B")],
    ("B5", "e", "E"), ("M1", "F", "F"), ("M1", "6", "F"), ("R2", "3", "C"),
    ("B2", "C", "C"), ("B2", "3", "C"),  # a question with figures takes plain options too
    # scenes
    *[("S01", text, level) for text, level in (
        ("0", 0), ("1", 1), ("2", 2), ("3", 3), ("4", 4), ("3级", 3), ("4级", 4), ("０", 0),
        ("４", 4), ("零", 0), ("一", 1), ("二", 2), ("两", 2), ("三", 3), ("四", 4), ("三级", 3),
        ("二级", 2), (" 3 ", 3))],
]


@pytest.mark.parametrize(("code", "text", "expected"), ACCEPTED,
                         ids=[f"{c}:{t!r}" for c, t, _ in ACCEPTED])
def test_accepted_answer_forms(code: str, text: str, expected: Any) -> None:
    p = Person(state_at(code))
    reply = p.say(text)
    assert p.draft.answers[code] == expected
    assert p.draft.updated_at == p.now and p.draft.pending is None
    following = ISET.codes[number_of(code)]
    assert p.draft.step == following
    assert reply == p.prompt() and reply.startswith(header(number_of(following)))


def test_a_changed_answer_replaces_the_old_one_and_shows_it_first() -> None:
    p = Person(state_at("B5", answers={**{c: EXPECTED_ANSWERS[c] for c in ISET.codes[:4]},
                                       "B5": "D"}))
    assert "\n当前答案：D\n" in p.prompt()
    p.say("修改 1")
    assert "\n当前答案：B、C\n" in p.replies[-1]
    p.say("A")
    assert p.draft.answers["B1"] == ["A"] and p.draft.step == "B5"
    p = Person(state_at("S03", answers={**EXPECTED_ANSWERS}))
    assert "\n当前答案：1\n" in p.prompt()


def test_the_prompts_tell_the_answer_forms() -> None:
    b1 = Person(state_at("B1")).prompt()
    assert "\n可多选，请回复选项字母，例如 B C（选 A 时不能再选其他）。\n" in b1
    assert b1.endswith("「说明」看解释 ·「上一题」返回 ·「进度」看进度 ·「帮助」全部指令")
    assert "\n请回复一个选项字母，例如 B。\n" in Person(state_at("B5")).prompt()
    s01 = Person(state_at("S01")).prompt()
    assert "\n请回复等级 0–4。\n" in s01
    assert [line[:2] for line in s01.splitlines()[2:7]] == ["0.", "1.", "2.", "3.", "4."]


# --- figures ----------------------------------------------------------------------------------

FIGURES: list[tuple[str, str, str, dict[str, str], str]] = [
    # (question, reply, option, figures kept, result line)
    ("B2", "45/120", "C", {"digital_equipment": "45", "production_equipment_total": "120"},
     "计算结果：37.5% → C. (20%,40%]"),
    ("B2", "45／120", "C", {"digital_equipment": "45", "production_equipment_total": "120"},
     "计算结果：37.5% → C. (20%,40%]"),
    ("B2", "45 / 120", "C", {"digital_equipment": "45", "production_equipment_total": "120"},
     "计算结果：37.5% → C. (20%,40%]"),
    ("B2", "45 120", "C", {"digital_equipment": "45", "production_equipment_total": "120"},
     "计算结果：37.5% → C. (20%,40%]"),
    ("B2", "１,２００/３,０００", "C",
     {"digital_equipment": "1200", "production_equipment_total": "3000"},
     "计算结果：40% → C. (20%,40%]"),
    ("B2", "10/100", "A", {"digital_equipment": "10", "production_equipment_total": "100"},
     "计算结果：10% → A. [0,10%]"),
    ("B2", "10.5/100", "B", {"digital_equipment": "10.5", "production_equipment_total": "100"},
     "计算结果：10.5% → B. (10%,20%]"),
    ("B2", "0/7", "A", {"digital_equipment": "0", "production_equipment_total": "7"},
     "计算结果：0% → A. [0,10%]"),
    # small counts are figures too, not option numbers (3/3 once became option C)
    ("B2", "2/3", "E", {"digital_equipment": "2", "production_equipment_total": "3"},
     "计算结果：66.7% → E. (60%,100%]"),
    ("B2", "3/3", "E", {"digital_equipment": "3", "production_equipment_total": "3"},
     "计算结果：100% → E. (60%,100%]"),
    ("B3", "1 5", "B", {"networked_equipment": "1", "production_equipment_total": "5"},
     "计算结果：20% → B. (10%,20%]"),
    ("M4", "50/1000/1000", "A", {"digital_investment_per_year": "50",
                                 "revenue_last_year": "1000", "revenue_year_before": "1000"},
     "计算结果：5% → A. [0,10%]"),
    ("M4", "300/1200/800", "C", {"digital_investment_per_year": "300",
                                 "revenue_last_year": "1200", "revenue_year_before": "800"},
     "计算结果：30% → C. (20%,40%]"),
    ("R1", "80/1000/100/1000", "C", {"energy_last_year": "80", "revenue_last_year": "1000",
                                     "energy_year_before": "100", "revenue_year_before": "1000"},
     "计算结果：上年 0.08，前年 0.1 → C. 降低"),
    ("R1", "100/1000/100/1000", "B", {"energy_last_year": "100", "revenue_last_year": "1000",
                                      "energy_year_before": "100", "revenue_year_before": "1000"},
     "计算结果：上年 0.1，前年 0.1 → B. 持平"),
    ("R3", "1200/10/1000/10", "C", {"revenue_last_year": "1200", "employees_last_year": "10",
                                    "revenue_year_before": "1000", "employees_year_before": "10"},
     "计算结果：上年 120，前年 100 → C. 增加"),
    ("R4", "900/1000/800/1000", "A", {"cost_last_year": "900", "revenue_last_year": "1000",
                                      "cost_year_before": "800", "revenue_year_before": "1000"},
     "计算结果：上年 0.9，前年 0.8 → A. 增加"),
]


@pytest.mark.parametrize(("code", "text", "key", "figures", "result"), FIGURES,
                         ids=[f"{c}:{t}" for c, t, *_ in FIGURES])
def test_figures_are_computed_then_confirmed(code: str, text: str, key: str,
                                             figures: dict[str, str], result: str) -> None:
    p = Person(state_at(code))
    answers = dict(p.draft.answers)
    reply = p.say(text)
    question = ISET.question_by_code[code]
    assert question.derivation is not None
    lines = reply.splitlines()
    assert lines[0] == f"{code} 您填报的数据："
    assert lines[1:-2] == [f"{ISET.figure_by_name[name].text}: {figures[name]}"
                           for name in question.derivation.inputs]
    assert lines[-2] == result
    assert lines[-1] == "回复「确认」采用该答案，「取消」放弃，或直接回复选项字母。"
    assert p.draft.pending == ConfirmFigures(code, key, figures)
    assert (p.draft.answers, p.draft.figures, p.draft.step) == (answers, {}, code)
    reply = p.say("确认")
    assert p.draft.answers == {**answers, code: key}
    assert p.draft.figures == figures
    assert p.draft.pending is None and p.draft.updated_at == p.now
    assert p.draft.step == ISET.codes[number_of(code)]
    assert reply == p.prompt()


def test_figures_cancelled_are_discarded() -> None:
    p = Person(state_at("B2"))
    before = p.snapshot()
    p.say("45/120")
    assert p.say("取消") == "已放弃计算出的答案。\n\n" + p.prompt()
    assert p.snapshot() == before


def test_an_option_letter_instead_of_confirming_replaces_the_figures() -> None:
    p = Person(state_at("B2"))
    p.say("45/120")
    p.say("D")
    assert (p.draft.answers["B2"], p.draft.figures, p.draft.pending) == ("D", {}, None)
    assert p.draft.step == "B3"


def test_new_figures_instead_of_confirming_replace_the_old_ones() -> None:
    p = Person(state_at("B2"))
    p.say("45/120")
    assert p.say("100/120").splitlines()[-2] == "计算结果：83.3% → E. (60%,100%]"
    p.say("是")
    assert p.draft.answers["B2"] == "E"
    assert p.draft.figures == {"digital_equipment": "100", "production_equipment_total": "120"}


def test_invalid_input_while_figures_wait_keeps_them_waiting() -> None:
    p = Person(state_at("B2"))
    asked = p.say("45/120")
    before = p.snapshot()
    assert p.say("xyz") == "请回复一个选项字母（A、B、C、D、E）或其序号。\n\n" + asked
    assert p.snapshot() == before
    assert p.say("130/120").startswith("B2：实现数字化的生产设备数量（台）（130）不能大于")
    assert p.snapshot() == before
    assert p.say("说明").startswith("B2 企业的生产设备数字化率")
    assert p.snapshot() == before
    p.say("确认")
    assert p.draft.answers["B2"] == "C" and p.draft.step == "B3"


def test_navigation_drops_waiting_figures() -> None:
    for command, step in (("上一题", "B1"), ("修改 5", "B5"), ("继续", "B2")):
        p = Person(state_at("B2"))
        p.say("45/120")
        p.say(command)
        assert (p.draft.step, p.draft.pending, p.draft.figures) == (step, None, {})
        assert p.say("确认").startswith("当前没有需要确认的内容。\n\n")


def test_known_figures_are_reused_by_the_next_question() -> None:
    p = Person(state_at("B2"))
    p.say("45/120")
    reply = p.say("确认")
    assert reply.splitlines()[-2] == (
        "也可以按顺序回复数据，用 / 分隔：实现联网的生产设备数量（台） / 生产设备数量（台）。"
        "已知：生产设备数量（台） 120；只需回复 实现联网的生产设备数量（台）。")
    reply = p.say("30")  # just the missing figure
    assert reply.splitlines()[1:4] == ["实现联网的生产设备数量（台）: 30",
                                       "生产设备数量（台）: 120", "计算结果：25% → C. (20%,40%]"]
    pending = p.draft.pending
    assert isinstance(pending, ConfirmFigures)
    assert pending.figures == {"networked_equipment": "30"}
    p.say("确认")
    assert p.draft.answers["B3"] == "C"
    assert p.draft.figures == {"digital_equipment": "45", "production_equipment_total": "120",
                               "networked_equipment": "30"}
    # both figures again: the new whole replaces the known one
    p = Person(state_at("B3", figures={"digital_equipment": "45",
                                       "production_equipment_total": "120"}))
    p.say("50/200")
    p.say("确认")
    assert p.draft.figures["production_equipment_total"] == "200"
    assert p.draft.answers["B3"] == "C"


# --- review and submission --------------------------------------------------------------------

REVIEW_TEXT = "\n".join([
    "请核对答案（已答 31/31）。",
    f"企业：济南鲁信机械有限公司（{CODE}）",
    "济南市历下区 · 34 通用设备制造业 · 120 人",
    *[f"{n}. {code} {'、'.join(v) if isinstance(v, list) else v}"
      for n, (code, v) in enumerate(EXPECTED_ANSWERS.items(), 1)],
    "回复「修改 N」修改第 N 题（改完回到这里），回复「提交」提交测评。",
])


def test_the_whole_questionnaire_by_chat_ends_in_the_review() -> None:
    p = Person()
    reply = play_to_review(p)
    assert reply == REVIEW_TEXT
    assert p.draft.answers == EXPECTED_ANSWERS
    assert p.draft.profile == PROFILE
    assert p.draft.return_to is None and p.draft.pending is None
    # every question was asked in order, each header showing its number
    questions = [r for r in p.replies if r is not None and r.startswith("第 ")]
    assert [r.split(" ·")[0] for r in questions] == [header(n) for n in range(1, 32)]
    assert all(len(r.encode("utf-8")) <= LIMIT for r in p.replies if r is not None)


def test_edit_from_the_review_comes_back_to_the_review() -> None:
    p = Person(state_at(REVIEW))
    reply = p.say("修改 2")
    assert (p.draft.step, p.draft.return_to) == ("B2", REVIEW)
    assert reply.startswith(header(2))
    reply = p.say("E")
    assert p.draft.step == REVIEW and p.draft.return_to is None
    assert reply == REVIEW_TEXT.replace("\n2. B2 C\n", "\n2. B2 E\n")
    p.say("修改 S05")
    p.say("4级")
    assert p.draft.step == REVIEW and "\n20. S05 4\n" in p.replies[-1]
    p.say("修改 12")
    p.say("80/1000/100/1000")
    assert p.say("确认").startswith("请核对答案（已答 31/31）。")


def test_a_skipped_question_is_asked_before_the_review() -> None:
    answers = {c: v for c, v in EXPECTED_ANSWERS.items() if c not in ("B3", "S16")}
    p = Person(state_at("S16", answers=answers))
    reply = p.say("2")
    assert p.draft.step == "B3" and reply.startswith(header(3))
    p.say("b")
    assert p.say("提交") == REVIEW_TEXT.replace("\n31. S16 0\n", "\n31. S16 2\n")


def test_submit_before_everything_is_answered_goes_to_the_first_gap() -> None:
    p = Person(state_at("B5"))
    reply = p.say("提交")
    assert reply == "还有题目未完成（已答 4/31），请先回答：\n\n" + p.prompt()
    assert p.draft.step == "B5" and p.requests == []
    answers = {c: v for c, v in EXPECTED_ANSWERS.items() if c != "B3"}
    p = Person(state_at("S10", answers=answers))
    p.draft.return_to = "S12"
    assert p.say("提交").startswith("还有题目未完成（已答 30/31），请先回答：\n\n" + header(3))
    assert (p.draft.step, p.draft.return_to) == ("B3", None)
    p = Person(state_at("county"))
    assert p.say("提交").startswith("还有题目未完成（已答 0/31），请先回答：\n\n企业信息 4/6")


def test_submit_with_everything_answered_but_not_reviewed_shows_the_review() -> None:
    p = Person(state_at("S16", answers=EXPECTED_ANSWERS))
    assert p.say("提交") == REVIEW_TEXT
    assert p.draft.step == REVIEW and p.requests == []


def test_submit_drops_a_confirmation_waiting_at_another_question() -> None:
    p = Person(state_at(REVIEW))
    p.say("修改 2")
    p.say("45/120")
    assert p.say("提交") == REVIEW_TEXT
    assert (p.draft.step, p.draft.pending) == (REVIEW, None)
    assert p.say("确认") == "当前没有需要确认的内容。\n\n" + REVIEW_TEXT
    assert p.draft.step == REVIEW


def test_submit_at_the_review_asks_the_archive_to_store_it() -> None:
    state = state_at(REVIEW, figures={"digital_equipment": "45",
                                      "production_equipment_total": "120"})
    p = Person(state)
    request = p.request("提交")
    assert isinstance(request, Submit)
    answers, _figures, problems = check_answers(ISET, EXPECTED_ANSWERS)
    assert problems == []
    assessment = assess(ISET, answers)
    assert request == Submit(
        draft_id="draft-0", set_id=DEFAULT_SET_ID, profile=PROFILE, answers=answers,
        figures={"digital_equipment": Decimal(45), "production_equipment_total": Decimal(120)},
        started_at=NOW - 3600, submitted_at=p.now, assessment=assessment,
        data=assessment_data(ISET, assessment, CTX.tr))
    assert request.answers["B1"] == ("B", "C") and request.answers["S02"] == 3
    assert (assessment.level_name, assessment.total) == ("二级", Decimal("41.4"))
    # the draft stays until the archive says it is stored
    assert p.draft.step == REVIEW and p.draft.answers == EXPECTED_ANSWERS


RESULT_LINES = [
    f"【初步评测结果】济南鲁信机械有限公司（{DATE}）",
    "初步等级：二级",
    "总分 41.4/100：数字化基础 17.4/50 · 数字化管理 10.5/30 · 数字化成效 13.5/20",
]
ON_SITE = "此为自评初步等级，正式等级以评测机构的现场评测为准。"
NO_MATCH = "省级供给资源库中暂时没有适合贵企业的方案，稍后可回复「方案」再看。"


def test_submitted_clears_the_draft_and_gives_the_result() -> None:
    archive = FakeArchive()
    p = Person(archive=archive)
    play_to_review(p)
    reply = p.say("提交")
    assert isinstance(p.requests[-1], Submit)
    assert p.state.draft is None
    lines = reply.splitlines()
    assert lines[:3] == RESULT_LINES
    assert lines[3] == ("场景达标情况：≥1级 15 个（约束 10）；≥2级 12 个（约束 9）；"
                        "≥3级 2 个（约束 0）；≥4级 0 个（约束 0）")
    assert lines[4] == "距三级还差：18.6 分；6 个场景达到 3 级（其中约束性场景 5 个）。"
    assert lines[5].startswith("最容易提升的场景：产品设计（2→3）")
    assert "建议优先：" in lines and lines[-2:] == [ON_SITE, NO_MATCH]
    assert "较上次" not in reply
    # 结果 shows the same result later; 提交 without a draft has nothing to submit
    assert p.say("结果") == reply
    assert p.say("提交") == NO_DRAFT
    assert len(archive.results) == 1


def test_a_second_assessment_shows_the_change() -> None:
    archive = FakeArchive()
    p = Person(archive=archive)
    play_to_review(p)
    p.say("提交")
    # same credit code: the archive offers the profile it now has
    p.say("开始测评")
    assert p.say(CODE).startswith("该信用代码已有企业档案：济南鲁信机械有限公司，济南市历下区")
    p.say("确认")
    assert p.draft.step == "B1" and p.draft.profile == PROFILE
    for answer in BETTER_ANSWERS:
        p.say(answer)
    reply = p.say("提交")
    lines = reply.splitlines()
    assert lines[1] == "初步等级：三级"
    assert lines[3].startswith(f"较上次（{DATE}，二级，41.4 分）：等级提升，总分 +")
    assert lines[-2:] == [ON_SITE, NO_MATCH]
    assert len(archive.results) == 2 and len(archive.submitted) == 2


def test_submitted_with_constructed_results() -> None:
    previous = PastResult(level=2, level_name="二级", total=Decimal("41.4"),
                          submitted_at=NOW - 86400 * 30, enterprise_name=NAME, data={})
    p = Person(state_at(REVIEW))
    request = p.request("提交")
    assert isinstance(request, Submit)
    latest = PastResult(level=1, level_name="一级", total=Decimal("38.5"), submitted_at=p.now,
                        enterprise_name="鲁信新名称", data=request.data)
    reply = p.complete(Submitted((latest, previous)))
    assert p.state.draft is None
    lines = reply.splitlines()
    assert lines[0] == f"【初步评测结果】鲁信新名称（{DATE}）"
    assert lines[1] == "初步等级：一级"
    assert lines[3] == "较上次（2024-09-27，二级，41.4 分）：等级下降，总分 -2.9"
    assert lines[-2:] == [ON_SITE, NO_MATCH]


def test_a_failed_submission_keeps_the_draft() -> None:
    archive = FakeArchive(failing={Submit})
    p = Person(state_at(REVIEW), archive=archive)
    before = p.snapshot()
    assert p.say("提交") == "抱歉，暂时无法保存提交。您的答案都已保留，请稍后再回复「提交」。"
    assert p.snapshot() == before
    archive.failing.clear()
    assert p.say("提交").splitlines()[:3] == RESULT_LINES
    first, second = p.requests
    assert isinstance(first, Submit) and isinstance(second, Submit)
    assert first.draft_id == second.draft_id == "draft-0"
    assert p.state.draft is None


def test_results() -> None:
    p = Person(state_at("B3"))
    assert p.request("结果") == LoadResults()
    before = p.snapshot()
    assert p.complete(ResultsLoaded(())) == ("还没有提交过测评。 您有一份未完成的测评"
                                             "（第 3/31 题），回复「继续」接着答。")
    assert p.snapshot() == before
    assert p.complete(RequestFailed(LoadResults())) == "抱歉，暂时无法办理，请稍后再试。"
    assert p.snapshot() == before
    data = assessment_data(ISET, assess(ISET, check_answers(ISET, EXPECTED_ANSWERS)[0]), CTX.tr)
    latest = PastResult(level=2, level_name="二级", total=Decimal("41.4"), submitted_at=NOW,
                        enterprise_name=NAME, data=data)
    previous = PastResult(level=0, level_name="未达一级", total=Decimal("12.25"),
                          submitted_at=NOW - 86400 * 365, enterprise_name=NAME, data={})
    reply = p.complete(ResultsLoaded((latest, previous)))
    lines = reply.splitlines()
    assert lines[:3] == RESULT_LINES
    assert lines[3] == "较上次（2023-10-28，未达一级，12.25 分）：等级提升，总分 +29.15"
    assert lines[-3:] == [ON_SITE, NO_MATCH,
                          "您有一份未完成的测评（第 3/31 题），回复「继续」接着答。"]
    assert p.snapshot() == before
    q = Person()
    q.request("结果")
    assert q.complete(ResultsLoaded(())) == ("还没有提交过测评。 回复「开始测评」开始，回复「帮助」"
                                             "查看全部指令。")


# --- long replies -----------------------------------------------------------------------------

def _long_set_ctx() -> Context:
    """The 2024 set with S01's level texts six times as long: its question needs several pages."""
    data = decode(resources.files("flows.sets").joinpath("miit-2024.json").read_bytes())
    scene = data["business_scenes"]["groups"][0]["scenes"][0]
    assert scene["code"] == "S01"
    scene["levels"] = {level: text * 6 for level, text in scene["levels"].items()}
    return replace(CTX, sets={DEFAULT_SET_ID: parse_indicator_set(data)})


LONG_CTX = _long_set_ctx()


def _read_all(p: Person, first: str) -> list[str]:
    pages = [first]
    while pages[-1].endswith("\n" + MORE_HINT):
        pages.append(p.say("更多"))
    return pages


def test_a_long_reply_comes_in_pages() -> None:
    p = Person(state_at("S01"), ctx=LONG_CTX)
    whole = p.prompt()
    assert len(whole.encode("utf-8")) > 2 * LIMIT
    pages = _read_all(p, p.say("修改 16"))
    assert len(pages) >= 3
    assert all(len(page.encode("utf-8")) <= LIMIT for page in pages)
    assert "\n".join(page.removesuffix("\n" + MORE_HINT) for page in pages) == whole
    assert p.state.pages == []
    assert p.say("更多") == "没有更多内容了。"
    assert p.say("下一页") == "没有更多内容了。"
    assert p.draft.step == "S01"


def test_pages_survive_non_text_and_end_with_the_next_reply() -> None:
    p = Person(state_at("S01"), ctx=LONG_CTX)
    first = p.say("修改 16")
    rest = list(p.state.pages)
    assert rest
    assert p.send("image").startswith("目前只能识别文字消息。")
    assert p.state.pages == rest
    assert p.say("更多") == rest[0]
    assert p.say("进度") == "进度：已答 15/31 题，当前在第 16/31 题。回复「继续」接着答题。"
    assert p.state.pages == []
    assert p.say("更多") == "没有更多内容了。"
    # an invalid answer repeats the long question, paged again, and changes nothing else
    before = p.snapshot()["draft"]
    reply = p.say("9")
    assert reply.startswith("S01：场景等级应为 0 到 4 的整数\n\n") and p.state.pages
    assert p.snapshot()["draft"] == before
    assert first.startswith("第 16/31 题")
    # an answer moves on; the rest of the old question is gone
    p.say("3")
    assert p.draft.answers["S01"] == 3 and p.state.pages == []


def test_more_with_nothing_to_show() -> None:
    assert Person().say("更多") == "没有更多内容了。"
    p = Person(state_at("B1"))
    before = p.snapshot()
    assert p.say("更多") == "没有更多内容了。"
    assert p.snapshot() == before


# --- the whole walk, checked at every step ----------------------------------------------------

def test_a_meandering_owner_is_checked_at_every_step() -> None:
    """Every detour at every question: each reply fits, each state round-trips (see _checked)."""
    p = Person(archive=FakeArchive(profiles={CODE: ARCHIVED}))
    p.event("subscribe")
    p.say("开始测评")
    p.say("帮助")
    p.send("voice")
    p.say(CODE)
    p.say("取消")
    for text in PROFILE_REPLIES:
        p.say("说明")
        p.say("??")
        p.say(text)
    for n, answer in enumerate(ANSWERS, 1):
        code = ISET.codes[n - 1]
        assert p.draft.step == code
        p.say("说明")
        p.say("进度")
        p.send("image")
        p.say("not an answer")
        if n > 1:
            p.say("上一题")
            p.say("继续")
            p.say(ANSWERS[n - 2])  # the same answer again moves on
        question = ISET.question_by_code.get(code)
        if question is not None and question.derivation is not None:
            p.say("1/2/3/4/5")
            p.say("取消")
        p.say(answer)
    assert p.draft.answers == EXPECTED_ANSWERS and p.draft.step == REVIEW
    p.say("修改 31")
    p.say("4")
    p.say("重新开始")
    p.say("取消")
    p.say("提交")
    assert p.state.draft is None
    p.say("结果")
    p.event("unsubscribe")
    assert len(p.replies) > 250
    assert all(r is None or len(r.encode("utf-8")) <= LIMIT for r in p.replies)


def test_state_without_anything_stored() -> None:
    assert decode_state(None) == State()
    assert decode_state(b"{}") == State()
    _roundtrip(State())
    _roundtrip(state_at(REVIEW, figures={"digital_equipment": "45"},
                        pending=ConfirmRestart()))


# --- notices and sign-ups ---------------------------------------------------------------------

ITEM = NoticeItem(id=7, kind="training", title="提升培训", starts_at=1796864400,  # 2026-12-10 09:00
                  place="济南", signup_open=True)


@pytest.mark.parametrize(("text", "request_made"), [
    ("通知", ListNotices()), ("报名", ListNotices()), ("取消报名", ListNotices()),
    ("我的报名", ListNotices()), ("报名 7", SignUpFor(7)), ("报名7", SignUpFor(7)),
    ("报名第7号", SignUpFor(7)), ("报名 ７", SignUpFor(7)), ("sign up 7", SignUpFor(7)),
    ("取消报名 7", WithdrawFrom(7)), ("取消报名7。", WithdrawFrom(7)),
])
def test_notice_commands_ask_the_shell_and_leave_the_draft(text: str,
                                                          request_made: Request) -> None:
    state = state_at("B4")
    outcome = _handle(CTX, state, Inbound(Text(text), now=NOW))
    assert outcome.request == request_made and outcome.reply is None
    assert outcome.state.draft == state.draft


def test_what_sign_ups_come_to_is_said_plainly() -> None:
    state = state_at("B4")

    def reply(completion: Completion) -> str:
        outcome = _resume(CTX, state, completion)
        assert outcome.request is None and outcome.reply is not None
        assert outcome.reply.endswith("\n您当前在第 4/31 题，回复「继续」查看题目。")
        return outcome.reply

    listed = reply(NoticesListed((ITEM, replace(ITEM, id=8, signup="waitlisted", position=2),
                                  replace(ITEM, id=9, full=True),
                                  replace(ITEM, id=10, signup_open=False))))
    assert listed.splitlines()[:9] == [
        "面向您的培训和活动：", "7. 【提升培训】 2026-12-10 09:00 济南", "   可报名",
        "8. 【提升培训】 2026-12-10 09:00 济南", "   您在候补名单第 2 位",
        "9. 【提升培训】 2026-12-10 09:00 济南", "   名额已满：报名将进入候补",
        "10. 【提升培训】 2026-12-10 09:00 济南", "   报名已截止"]
    assert "目前没有面向您的培训和活动" in reply(NoticesListed(()))
    assert reply(SignUpDone(ITEM, "registered")).startswith(
        "报名成功：【提升培训】（2026-12-10 09:00）。开始前我们会提醒您；"
        "如不能参加，请回复「取消报名 7」。")
    assert "第 3 位" in reply(SignUpDone(ITEM, "waitlisted", 3))
    assert "已在【提升培训】的候补名单中：第 1 位" in reply(SignUpDone(ITEM, "waitlisted", 1,
                                                                  already=True))
    assert "报名已截止" in reply(SignUpDone(ITEM, "closed"))
    assert "没有这个编号的通知" in reply(SignUpDone(None, "not_found"))
    assert "已取消您对【提升培训】的报名" in reply(WithdrawDone(7, ITEM, True))
    assert "您没有报名第 7 号通知" in reply(WithdrawDone(7, None, False))
    failed = _resume(CTX, state, RequestFailed(SignUpFor(7)))
    assert failed.reply is not None and failed.reply.startswith("抱歉")


# --- digital commissioners --------------------------------------------------------------------

@pytest.mark.parametrize(("text", "commissioner", "request_made"), [
    ("绑定 7kq9m3txca", False, BindCode("7KQ9M3TXCA")),
    ("绑定7KQ9M-3TXCA", True, BindCode("7KQ9M-3TXCA")),
    ("进度", True, LoadScopeProgress()),
    ("名单 未开始", True, LoadRoster("not_started")),
    ("名单进行中", True, LoadRoster("in_progress")),
    ("名单 已提交", True, LoadRoster("submitted")),
    ("催办", True, NudgeEnterprises()),
    (f"催办 {CODE.lower()}", True, NudgeEnterprises(CODE)),
])
def test_commissioner_commands_ask_the_shell(text: str, commissioner: bool,
                                             request_made: Request) -> None:
    state = state_at("B4")
    outcome = _handle(CTX, state, Inbound(Text(text), now=NOW,
                                          commissioner=commissioner))
    assert outcome.request == request_made
    assert outcome.state.draft == state.draft


def test_commissioner_commands_of_others_get_a_clear_answer() -> None:
    state = state_at("B4")

    def say(text: str, commissioner: bool = False) -> str:
        outcome = _handle(CTX, state, Inbound(Text(text), now=NOW,
                                              commissioner=commissioner))
        assert outcome.request is None and outcome.reply is not None
        return outcome.reply

    assert "仅供数字专员" in say("名单 已提交")
    assert say("进度").startswith("进度：已答 ")  # an owner's own questionnaire
    assert "请发送「绑定」" in say("绑定")
    assert "请回复「名单 未开始」" in say("名单", commissioner=True)
    assert "辖区概况" in say("帮助", commissioner=True) and "辖区" not in say("帮助")
    assert "仅供数字专员" in say("催办")
    wrong = CODE[:17] + ("1" if CODE[17] != "1" else "2")
    assert "校验位" in say(f"催办 {wrong}", commissioner=True)
    assert "18 位" in say("催办 1234", commissioner=True)
    page = _resume(CTX, state, RosterPage("in_progress", (
        RosterEntry("甲公司", "9137…", "历下区", "12/31 · 2026-11-30"),), total=250))
    assert page.reply == ("进行中：共 250 家企业\n1. 甲公司（历下区）9137… 12/31 · 2026-11-30\n"
                          "回复「下一页」查看第 2–201 家（共 250 家）。")
    # 下一页 loads the next part, numbered on; the last part offers no more.
    more = _handle(CTX, page.state, Inbound(Text("下一页"), now=NOW,
                                            commissioner=True))
    assert more.request == LoadRoster("in_progress", 1)
    last = _resume(CTX, more.state, RosterPage("in_progress", (
        RosterEntry("乙公司", "9137…", "历下区", ""),), total=2, offset=1))
    assert last.reply == "进行中：共 2 家企业\n2. 乙公司（历下区）9137…"
    done = _handle(CTX, last.state, Inbound(Text("下一页"), now=NOW,
                                            commissioner=True))
    assert done.request is None and done.reply == "没有更多内容了。"
    nudged = _resume(CTX, state, NudgeReport(3, 4, 2, 1, 0))
    assert nudged.reply is not None and "已催办 3 家企业（4 人）" in nudged.reply
    assert "2 家在 3 天内已被催办过" in nudged.reply and "1 家在微信上联系不到" in nudged.reply
    elsewhere = _resume(CTX, state, NudgeReport(0, 0, 0, 0, found=False,
                                                credit_code=CODE))
    assert elsewhere.reply == f"您的辖区内没有统一社会信用代码为 {CODE} 的企业。"
    progress = _resume(CTX, state, AreaProgress("济南市", 3, {"not_started": 1,
                                                          "in_progress": 1, "submitted": 1},
                                                {2: 1}))
    assert progress.reply is not None and "二级 1" in progress.reply


def test_what_a_binding_came_to_is_told() -> None:
    state = state_at("B4")

    def said(completion: Completion) -> str:
        outcome = _resume(CTX, state, completion)
        assert outcome.state.draft == state.draft and outcome.reply is not None
        return outcome.reply

    assert said(CommissionerBound("王专员", "济南市")).startswith(
        "绑定成功：您是济南市的数字专员王专员")
    assert said(ProviderContactBound("山东某某软件有限公司1")).startswith(
        "绑定成功：您现在是山东某某软件有限公司1的微信联系人。")
    assert said(BindRefused("invalid")).startswith("绑定码无效")
    assert said(BindRefused("expired")).startswith("绑定码已过期")
    assert said(BindRefused("too_many")).startswith("尝试次数过多")
