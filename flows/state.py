"""A person's place in the questionnaire, and what every step may read.

`State` is what is kept in Redis between messages (as JSON via `dump_state`/`load_state`);
`Context` is what does not change between messages (indicator sets, profile lists, language).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flows.i18n import Translator
from flows.indicators import IndicatorSet
from flows.profile import ProfileReference

PROFILE_STEPS = ("credit_code", "name", "city", "county", "industry", "industry_division",
                 "employees")
REVIEW = "review"


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
    pending: dict[str, Any] | None = None  # something the person must confirm first


@dataclass(slots=True)
class State:
    draft: Draft | None = None
    pages: list[str] = field(default_factory=list)  # the rest of a long reply, for 更多
    last_active: int = 0
    # A commissioner's list goes on past what was loaded: (status, offset) for 下一页.
    roster_next: tuple[str, int] | None = None

    def is_empty(self) -> bool:
        """Nothing worth keeping: no draft, nothing more to show (its key can go)."""
        return self.draft is None and not self.pages and self.roster_next is None


def dump_state(state: State) -> dict[str, Any]:
    draft = state.draft
    return {
        "draft": None if draft is None else {
            "id": draft.id, "set_id": draft.set_id, "started_at": draft.started_at,
            "updated_at": draft.updated_at, "step": draft.step, "profile": draft.profile,
            "answers": draft.answers, "figures": draft.figures, "return_to": draft.return_to,
            "pending": draft.pending},
        "pages": state.pages,
        "last_active": state.last_active,
        "roster_next": None if state.roster_next is None else list(state.roster_next),
    }


def load_state(data: Mapping[str, Any] | None) -> State:
    if not data:
        return State()
    raw = data.get("draft")
    draft = None if raw is None else Draft(
        id=raw["id"], set_id=raw["set_id"], started_at=raw["started_at"],
        updated_at=raw["updated_at"], step=raw["step"], profile=dict(raw["profile"]),
        answers=dict(raw["answers"]), figures=dict(raw["figures"]), return_to=raw["return_to"],
        pending=raw["pending"])
    roster_next = data.get("roster_next")
    return State(draft=draft, pages=list(data.get("pages", [])),
                 last_active=int(data.get("last_active", 0)),
                 roster_next=None if not roster_next else (str(roster_next[0]),
                                                           int(roster_next[1])))


@dataclass(frozen=True, slots=True)
class PastResult:
    """A stored submission, as the conversation shows it."""

    level: int
    level_name: str
    total: Decimal
    submitted_at: int
    enterprise_name: str
    data: Mapping[str, Any]  # flows.results.assessment_data, as stored


@dataclass(frozen=True, slots=True)
class Context:
    """What every step may read: the indicator sets, the profile lists, the language."""

    sets: Mapping[str, IndicatorSet]
    default_set: str
    reference: ProfileReference
    tr: Translator

    def iset(self, draft: Draft | None) -> IndicatorSet:
        return self.sets[draft.set_id if draft else self.default_set]


def steps(iset: IndicatorSet, draft: Draft, reference: ProfileReference) -> list[str]:
    """Every step of this draft in order; the division step only where its section has them."""
    profile = [s for s in PROFILE_STEPS
               if s != "industry_division" or draft.profile.get("industry") in reference.divisions]
    return profile + list(iset.codes) + [REVIEW]


def answered_count(iset: IndicatorSet, draft: Draft) -> int:
    """Questions and scenes answered so far (the profile not counted)."""
    return sum(1 for code in iset.codes if code in draft.answers)


def question_number(iset: IndicatorSet, code: str) -> int:
    return iset.codes.index(code) + 1




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
        if step == REVIEW:
            return step
        if step in PROFILE_STEPS and step not in draft.profile:
            return step
        if step not in PROFILE_STEPS and step not in draft.answers:
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
