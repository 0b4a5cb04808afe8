"""The questionnaire as direct edits of the draft, for screens that send whole answers (the
mini-program) rather than chat lines.

Same rules and messages as the chat: profile fields go through `flows.profile`, answers through
`flows.answers`, figures through `flows.figures`, and position through the same step order, so a
person can switch between the chat and the mini-program at any point and find the same draft at
the same place. Every function is pure: it takes a `State` and returns a new one or the problems;
bad input never changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from flows.answers import Answer, check_answer
from flows.events import Submit
from flows.figures import Derived, check_figures, derive
from flows.i18n import N_
from flows.indicators import IndicatorSet
from flows.problems import Problem
from flows.profile import PROFILE_FIELDS
from flows.state import Context, Draft, State, advance, copy_state, first_unanswered, new_draft
from flows.submission import missing, submit_request


def start(ctx: Context, state: State, *, now: int, new_id: str) -> State:
    """A state with a draft: the existing one, or a new one at the first profile step."""
    if state.draft is not None:
        return state
    state = copy_state(state)
    state.draft = new_draft(ctx, draft_id=new_id, now=now)
    state.last_active = now
    return state


def _no_draft() -> list[Problem]:
    return [Problem("no_draft", N_("There is no assessment in progress."), "draft")]


def update_profile(ctx: Context, state: State, values: Mapping[str, Any], *,
                   now: int) -> State | list[Problem]:
    """Set some profile fields at once; all are checked before any is taken."""
    if state.draft is None:
        return _no_draft()
    problems: list[Problem] = []
    accepted: dict[str, Any] = {}
    draft = state.draft
    # In profile order, so the division is checked against the section given with it.
    ordered = sorted(values.items(), key=lambda item: (
        PROFILE_FIELDS.index(item[0]) if item[0] in PROFILE_FIELDS else len(PROFILE_FIELDS)))
    for field, raw in ordered:
        if field not in PROFILE_FIELDS:
            problems.append(Problem("unknown_field", N_("{field}: there is no such field"),
                                    field, {"field": field}))
            continue
        if raw is None and field in ("industry_division", "employees"):
            accepted[field] = None
            continue
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            problems.append(Problem("field_type", N_("{field}: expected text"), field,
                                    {"field": field}))
            continue
        if field == "industry_division" and "industry" in values and "industry" not in accepted:
            continue  # the section itself is wrong; that is the problem to report
        section = accepted.get("industry", draft.profile.get("industry", ""))
        value = ctx.reference.parse_field(field, str(raw), section)
        if isinstance(value, Problem):
            problems.append(value if value.subject else replace(value, subject=field))
        else:
            accepted[field] = value
    if problems:
        return problems
    changed = copy_state(state)
    edited = changed.draft
    assert edited is not None
    edited.profile = ctx.reference.with_fields(edited.profile, accepted)
    edited.updated_at = changed.last_active = now
    edited.pending = None
    if edited.step in PROFILE_FIELDS and edited.step in edited.profile:
        edited.step = first_unanswered(ctx, edited)
    return changed


def compute(iset: IndicatorSet, draft: Draft | None, code: str,
            figures: Mapping[str, Any]) -> Derived | list[Problem]:
    """The option that `figures` (with those already in the draft) give for question `code`."""
    question = iset.question_by_code.get(code)
    if question is None or question.derivation is None:
        return [Problem("no_figures", N_("{code}: cannot be answered with figures"), code,
                        {"code": code})]
    given, problems = check_figures(iset, figures)
    if problems:
        return problems
    known = {} if draft is None else {k: Decimal(v) for k, v in draft.figures.items()}
    return derive(iset, question, {**known, **given})


def set_answer(ctx: Context, state: State, code: str, value: Any,
               figures: Mapping[str, Any] | None = None, *, now: int) -> State | list[Problem]:
    """Answer question or scene `code`; with `figures`, the answer may be left out (computed)
    and, when given, must agree with them. The position moves on as in the chat."""
    draft = state.draft
    if draft is None:
        return _no_draft()
    iset = ctx.iset(draft)
    given: dict[str, Decimal] = {}
    if figures:
        derived = compute(iset, draft, code, figures)
        if isinstance(derived, list):
            return derived
        given, _ = check_figures(iset, figures)
        if value is None:
            value = derived.key
        elif value != derived.key:
            return [Problem("answer_contradicts_figures",
                            N_("{code}: answer {given} contradicts the figures, which give "
                               "{derived}"), code,
                            {"code": code, "given": value, "derived": derived.key})]
    accepted: Answer | Problem = check_answer(iset, code, value)
    if isinstance(accepted, Problem):
        return [accepted]
    state = copy_state(state)
    draft = state.draft
    assert draft is not None
    draft.answers[code] = list(accepted) if isinstance(accepted, tuple) else accepted
    draft.figures.update({name: format(number, "f") for name, number in given.items()})
    draft.updated_at = state.last_active = now
    draft.pending = None
    if draft.step == code:  # answered where the person stands: move on as the chat would
        advance(ctx, draft, code)
    return state


def submission(ctx: Context, state: State, *, now: int) -> Submit | list[Problem]:
    """The submission of a complete draft, exactly as the chat's 提交 makes it."""
    draft = state.draft
    if draft is None:
        return _no_draft()
    problems = missing(ctx, draft)
    if problems:
        return problems
    return submit_request(ctx, draft, now)
