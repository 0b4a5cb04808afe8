"""The Official Account benchmark's walks, run through the pure conversation (no server): every
message is accepted, the submitting walk ends in a Submit, and the benchmark's reply checks take
every real reply and refuse error replies, in both languages."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bot.translations import translator
from flows.conversation import handle, resume
from flows.events import ArchiveFound, Inbound, LookupArchive, Outcome, Submit, Submitted, Text
from flows.i18n import PLAIN
from flows.indicators import DEFAULT_SET_ID, builtin_sets
from flows.profile import builtin_reference
from flows.state import REVIEW, Context, PastResult, State, steps

NOW = 1_730_000_000
CODE = "91370100MA00000010"  # any valid one; the walk's own come from its serials


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_oa.py"
    spec = importlib.util.spec_from_file_location("bench_oa", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_oa", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


BENCH = _bench()
CONTEXTS = {
    "zh_CN": Context(sets=builtin_sets(), default_set=DEFAULT_SET_ID,
                     reference=builtin_reference(), tr=translator("zh_CN")),
    "en": Context(sets=builtin_sets(), default_set=DEFAULT_SET_ID,
                  reference=builtin_reference(), tr=PLAIN),
}


class Phone:
    """One owner on the pure core: the shell's part is an empty archive that stores anything."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.state = State()
        self.submitted: list[Submit] = []
        self.sent = 0

    def say(self, text: str) -> str:
        self.sent += 1
        outcome = handle(self.ctx, self.state, Inbound(Text(text), NOW + self.sent,
                                                       new_id=f"draft{self.sent}"))
        while outcome.request is not None:
            outcome = self._perform(outcome)
        self.state = outcome.state
        assert outcome.reply is not None, f"no reply to {text!r}"
        return outcome.reply

    def _perform(self, outcome: Outcome) -> Outcome:
        request = outcome.request
        if isinstance(request, LookupArchive):
            return resume(self.ctx, outcome.state, ArchiveFound(None))
        assert isinstance(request, Submit), request
        self.submitted.append(request)
        assessment = request.assessment
        past = PastResult(level=assessment.level, level_name=assessment.level_name,
                          total=assessment.total, submitted_at=request.submitted_at,
                          enterprise_name=str(request.profile["name"]), data=request.data)
        return resume(self.ctx, outcome.state, Submitted((past,)))

    def position(self) -> str | None:
        draft = self.state.draft
        return None if draft is None else draft.step


@pytest.mark.parametrize("language", CONTEXTS)
def test_the_submitting_walk_is_accepted_step_by_step_and_submits_once(language: str) -> None:
    ctx = CONTEXTS[language]
    phone = Phone(ctx)
    walk = BENCH.walk(True)
    assert len(walk) == 1 + 1 + len(BENCH.PROFILE) + len(BENCH.ISET.codes) + 1
    for n, step in enumerate(walk):
        text = CODE if step.text is None else step.text
        before = phone.position()
        reply = phone.say(text)
        assert step.expect.ok(reply, CODE), (n, text, str(step.expect), reply)
        if n < len(walk) - 1:  # every answer moves on: nothing was refused
            draft = phone.state.draft
            assert draft is not None and draft.step != before, (n, text, reply)
            order = steps(ctx.iset(draft), draft, ctx.reference)
            assert before is None or order.index(draft.step) == order.index(before) + 1, (
                n, text, before, draft.step)
    assert phone.position() is None
    assert len(phone.submitted) == 1
    submit = phone.submitted[0]
    assert submit.profile["credit_code"] == CODE
    assert set(submit.answers) == set(BENCH.ISET.codes)
    assert walk[-1].submits and not any(step.submits for step in walk[:-1])


@pytest.mark.parametrize("language", CONTEXTS)
def test_the_chat_only_walk_edits_scenes_from_the_review_and_never_submits(
        language: str) -> None:
    phone = Phone(CONTEXTS[language])
    walk = BENCH.walk(False)
    for n, step in enumerate(walk):
        text = CODE if step.text is None else step.text
        reply = phone.say(text)
        assert step.expect.ok(reply, CODE), (n, text, str(step.expect), reply)
    assert phone.position() == REVIEW
    assert not phone.submitted and not any(step.submits for step in walk)


def test_a_walk_that_leaves_its_draft_is_followed_by_another_person() -> None:
    serials = iter(range(100, 200))
    for submit, same_person in ((True, True), (False, False)):
        owner = BENCH.Owner("bench-x", BENCH.walk(submit), next(serials))
        first = (owner.openid, owner.code)
        for _ in range(len(owner.walk) + 1):
            owner.next_step(serials)
        assert (owner.openid == first[0]) is same_person
        assert owner.code != first[1] and owner.position == 1


@pytest.mark.parametrize("language", CONTEXTS)
def test_the_checks_refuse_error_replies_and_another_level(language: str) -> None:
    ctx = CONTEXTS[language]
    iset = ctx.iset(None)
    walk = BENCH.walk(True)
    phone = Phone(ctx)
    first_scene = 1 + 1 + len(BENCH.PROFILE) + len(iset.questions)
    for step in walk[:first_scene]:
        phone.say(CODE if step.text is None else step.text)
    wrong = phone.say("9")  # no such level
    assert not walk[first_scene].expect.ok(wrong, CODE)  # the error repeats the same scene
    assert not walk[first_scene - 1].expect.ok(wrong, CODE)  # and is not its prompt alone
    # a profile prompt is told from the next one, and 开始测评 on a draft is not a start
    phone = Phone(ctx)
    start = phone.say("开始测评")
    assert walk[0].expect.ok(start, CODE) and not walk[1].expect.ok(start, CODE)
    assert not walk[0].expect.ok(phone.say("开始测评"), CODE)
    invalid_code = phone.say("91370100MA0000001X")
    assert not walk[1].expect.ok(invalid_code, CODE)
    # the result names one level: 一级 is not 未达一级
    below, first = iset.below_level_name, iset.level_rules[0].name
    assert first in below
    text = f"{BENCH.PROFILE[0]} 2024-10-27\nLevel: {below}\nTotal 10/100"
    assert BENCH.result(below).ok(text, CODE) and not BENCH.result(first).ok(text, CODE)
    text = text.replace(below, first)
    assert BENCH.result(first).ok(text, CODE) and not BENCH.result(below).ok(text, CODE)


def test_the_walks_answer_every_question_within_its_options() -> None:
    iset = BENCH.ISET
    answers = BENCH.ordinary_answers()
    for question in iset.questions:
        value = answers[question.code]
        keys = value if isinstance(value, list) else [value]
        assert keys and set(keys) <= set(question.option_by_key), (question.code, value)
        assert (question.type == "multiple") is isinstance(value, list)
    for scene in iset.scenes:
        assert answers[scene.code] in scene.levels
