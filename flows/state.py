"""A person's place in the questionnaire, and what every step may read.

`State` is what is kept between messages (`storage.conversations` stores it); `Context` is what
does not change between messages (indicator sets, profile lists, language). The order of the
steps, what kind of step a step is and how a new draft begins are written here once, for the
chat and the mini-program alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeAlias

from flows.i18n import Translator
from flows.indicators import IndicatorSet, Question, Scene
from flows.profile import PROFILE_FIELDS, ProfileReference
from flows.statuses import Status

REVIEW = "review"


# --- what waits for 确认 / 取消 ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ConfirmArchive:
    """The credit code has an archive: 确认 reuses its profile, 取消 asks for it again."""

    profile: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ConfirmRestart:
    """重新开始 discards the draft only after 确认."""


@dataclass(frozen=True, slots=True)
class ConfirmFigures:
    """The person's figures give option `key` of question `code`; 确认 records both."""

    code: str
    key: str
    figures: Mapping[str, str]  # name -> exact decimal text, only those given now


Pending: TypeAlias = ConfirmArchive | ConfirmRestart | ConfirmFigures


# --- solutions shown, and a 对接 waiting for the mobile --------------------------------------

@dataclass(frozen=True, slots=True)
class Listed:
    """A solution as numbered in the last list the person was shown (for 方案 N and 对接 N)."""

    id: int
    title: str
    provider: str


@dataclass(frozen=True, slots=True)
class LeadOffer:
    """对接 N waits for the person's mobile: giving it is their consent that the provider calls."""

    solution_id: int
    title: str
    provider: str


# --- the state ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Draft:
    id: str
    set_id: str
    started_at: int
    updated_at: int
    step: str
    profile: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)  # code -> "C" | ["B","D"] | level
    figures: dict[str, str] = field(default_factory=dict)  # name -> exact decimal text
    return_to: str | None = None  # after 修改 N: the step to go back to
    pending: Pending | None = None  # something the person must confirm first


@dataclass(slots=True)
class State:
    draft: Draft | None = None
    pages: list[str] = field(default_factory=list)  # the rest of a long reply, for 更多
    last_active: int = 0
    # A commissioner's list goes on past what was loaded: (status, offset) for 下一页.
    roster_next: tuple[Status, int] | None = None
    listed: tuple[Listed, ...] = ()  # the solutions last shown, numbered from 1
    lead_offer: LeadOffer | None = None

    def is_empty(self) -> bool:
        """Nothing worth keeping: no draft, nothing more to show or to answer (its key can
        go)."""
        return (self.draft is None and not self.pages and self.roster_next is None
                and not self.listed and self.lead_offer is None)


def copy_state(state: State) -> State:
    """A copy whose draft can be changed without touching `state` (pending values are frozen)."""
    draft = state.draft
    if draft is not None:
        draft = replace(draft, profile=dict(draft.profile), answers=dict(draft.answers),
                        figures=dict(draft.figures))
    return State(draft=draft, pages=list(state.pages), last_active=state.last_active,
                 roster_next=state.roster_next, listed=state.listed, lead_offer=state.lead_offer)


@dataclass(frozen=True, slots=True)
class PastResult:
    """A stored submission, as the conversation shows it."""

    level: int
    level_name: str
    total: Decimal
    submitted_at: int
    enterprise_name: str
    data: Mapping[str, Any]  # flows.results.assessment_data, as stored
    report_url: str = ""  # a link to its report page (`bot.report`); "": none to give
    submission_id: int | None = None  # the archive's id


@dataclass(frozen=True, slots=True)
class Context:
    """What every step may read: the indicator sets, the profile lists, the language."""

    sets: Mapping[str, IndicatorSet]
    default_set: str
    reference: ProfileReference
    tr: Translator

    def iset(self, draft: Draft | None) -> IndicatorSet:
        return self.sets[draft.set_id if draft else self.default_set]


def new_draft(ctx: Context, *, draft_id: str, now: int, set_id: str | None = None) -> Draft:
    """A draft that begins now, at the first profile step."""
    return Draft(id=draft_id, set_id=set_id or ctx.default_set, started_at=now, updated_at=now,
                 step=PROFILE_FIELDS[0])


# --- the steps ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ProfileStep:
    field: str


@dataclass(frozen=True, slots=True)
class QuestionStep:
    question: Question


@dataclass(frozen=True, slots=True)
class SceneStep:
    scene: Scene


@dataclass(frozen=True, slots=True)
class ReviewStep:
    pass


Step: TypeAlias = ProfileStep | QuestionStep | SceneStep | ReviewStep


def step_of(iset: IndicatorSet, step: str) -> Step:
    """What kind of step `step` is (a step name of `steps`)."""
    if step == REVIEW:
        return ReviewStep()
    if step in PROFILE_FIELDS:
        return ProfileStep(step)
    question = iset.question_by_code.get(step)
    if question is not None:
        return QuestionStep(question)
    return SceneStep(iset.scene_by_code[step])


def steps(iset: IndicatorSet, draft: Draft, reference: ProfileReference) -> list[str]:
    """Every step of this draft in order: the profile asked of it, the questions and scenes, the
    review."""
    return [*reference.asked_fields(draft.profile), *iset.codes, REVIEW]


def is_answered(draft: Draft, step: str) -> bool:
    return step in (draft.profile if step in PROFILE_FIELDS else draft.answers)


def answered_count(iset: IndicatorSet, draft: Draft) -> int:
    """Questions and scenes answered so far (the profile not counted)."""
    return sum(1 for code in iset.codes if code in draft.answers)


def step_after(ctx: Context, draft: Draft, step: str) -> str:
    order = steps(ctx.iset(draft), draft, ctx.reference)
    return order[min(order.index(step) + 1, len(order) - 1)]


def step_before(ctx: Context, draft: Draft, step: str) -> str | None:
    order = steps(ctx.iset(draft), draft, ctx.reference)
    index = order.index(step)
    return order[index - 1] if index > 0 else None


def first_unanswered(ctx: Context, draft: Draft) -> str:
    """The first step still without an answer; `REVIEW` when everything is answered."""
    for step in steps(ctx.iset(draft), draft, ctx.reference):
        if step == REVIEW or not is_answered(draft, step):
            return step
    return REVIEW


def advance(ctx: Context, draft: Draft, step: str) -> None:
    """Move past `step`: back where 修改 came from, else the next step, or the first gap once
    the end is reached (so a skipped question is never passed over silently)."""
    target = draft.return_to
    draft.return_to = None
    if target is None or target == step:
        target = step_after(ctx, draft, step)
    if target == REVIEW:
        target = first_unanswered(ctx, draft)
    draft.step = target
