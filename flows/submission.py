"""A complete draft as the submission the archive records: what still stands in its way, and
the scored `Submit` request, made the same way for the chat's 提交 and the mini-program."""

from __future__ import annotations

from decimal import Decimal

from flows.answers import check_answers
from flows.events import Submit
from flows.i18n import N_
from flows.problems import Problem
from flows.results import assessment_data
from flows.scoring import assess
from flows.state import Context, Draft


def missing(ctx: Context, draft: Draft) -> list[Problem]:
    """What still stands between the draft and a submission: profile fields not given, answers
    missing or not accepted."""
    problems = [Problem("missing", N_("{code}: not answered"), field, {"code": field})
                for field in ctx.reference.asked_fields(draft.profile)
                if field not in draft.profile]
    _answers, _figures, answer_problems = check_answers(ctx.iset(draft), draft.answers)
    return problems + answer_problems


def submit_request(ctx: Context, draft: Draft, now: int) -> Submit:
    """The submission of a complete draft (see `missing`): scored, with the result data in
    `ctx`'s language."""
    iset = ctx.iset(draft)
    answers, _figures, problems = check_answers(iset, draft.answers)
    assert not problems, problems
    assessment = assess(iset, answers)
    return Submit(
        draft_id=draft.id, set_id=iset.id, profile=dict(draft.profile), answers=answers,
        figures={name: Decimal(value) for name, value in draft.figures.items()},
        started_at=draft.started_at, submitted_at=now, assessment=assessment,
        data=assessment_data(iset, assessment, ctx.tr))
