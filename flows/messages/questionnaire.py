"""The questionnaire as the person reads it: each step asked in full, the review, what an
answer may look like, the figures computed, and the short lines around moving through it.

Wording is gettext (`ctx.tr`); indicator texts come from the indicator data file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, assert_never

from flows.figures import Derived, display_number
from flows.indicators import IndicatorSet, Question, Scene
from flows.scoring import number_text
from flows.state import (
    Context,
    Draft,
    ProfileStep,
    QuestionStep,
    ReviewStep,
    SceneStep,
    answered_count,
    step_of,
)


def position(ctx: Context, draft: Draft) -> str:
    """Where the person is, in words: 企业信息, 第 7/31 题 or 答案核对."""
    _ = ctx.tr.gettext
    iset = ctx.iset(draft)
    match step_of(iset, draft.step):
        case ProfileStep():
            return _("the enterprise profile")
        case ReviewStep():
            return _("the review of your answers")
        case QuestionStep() | SceneStep():
            return _("question {n}/{total}").format(n=iset.codes.index(draft.step) + 1,
                                                     total=len(iset.codes))
        case unknown:
            assert_never(unknown)


def answer_text(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(value)
    return str(value)


def _keywords_line(ctx: Context) -> str:
    return ctx.tr.gettext("说明: explain this question · 上一题: go back · 进度: progress · "
                          "帮助: all commands")


def prompt(ctx: Context, draft: Draft) -> str:
    """The current step, asked in full."""
    iset = ctx.iset(draft)
    match step_of(iset, draft.step):
        case ReviewStep():
            return review(ctx, draft, iset)
        case ProfileStep():
            return _profile_prompt(ctx, draft, ctx.reference.asked_fields(draft.profile))
        case QuestionStep(question=question):
            return _question_prompt(ctx, draft, iset, question)
        case SceneStep(scene=scene):
            return _scene_prompt(ctx, draft, iset, scene)
        case unknown:
            assert_never(unknown)


def _profile_prompt(ctx: Context, draft: Draft, profile_steps: Sequence[str]) -> str:
    _ = ctx.tr.gettext
    step = draft.step
    reference = ctx.reference
    lines = [_("Enterprise profile {n}/{total}").format(n=profile_steps.index(step) + 1,
                                                       total=len(profile_steps))]
    if step == "credit_code":
        lines.append(_("Please enter the enterprise's unified social credit code (18 characters, "
                       "on the business licence)."))
    elif step == "name":
        lines.append(_("Please enter the enterprise's name as on the business licence."))
    elif step == "city":
        lines.append(_("In which city is the enterprise? Reply with the number or the name:"))
        lines += [f"{i}. {city}" for i, city in enumerate(reference.cities, 1)]
    elif step == "county":
        lines.append(_("In which county or district? For example 历下区."))
    elif step == "industry":
        lines.append(_("Which industry section? Reply with the letter:"))
        lines += [f"{s.code}. {s.name}" for s in reference.sections]
    elif step == "industry_division":
        section = draft.profile.get("industry", "")
        lines.append(_("Which industry division? Reply with the two-digit code:"))
        lines += [f"{d.code} {d.name}" for d in reference.divisions.get(section, ())]
    else:
        lines.append(_("How many employees does the enterprise have?"))
    if step in draft.profile:
        lines.append(_("Current answer: {answer}").format(
            answer=_profile_value(ctx, draft, step)))
    return "\n".join(lines)


def _profile_value(ctx: Context, draft: Draft, step: str) -> str:
    value = draft.profile.get(step)
    reference = ctx.reference
    if step == "industry":
        section = reference.section(str(value))
        return f"{value} {section.name}" if section else str(value)
    if step == "industry_division":
        division = reference.division(draft.profile.get("industry", ""), str(value))
        return f"{value} {division.name}" if division else str(value)
    return str(value)


def _question_prompt(ctx: Context, draft: Draft, iset: IndicatorSet, question: Question) -> str:
    _ = ctx.tr.gettext
    dimension = next(d for d in iset.dimensions if d.code == question.dimension)
    kind = _("single choice") if question.type == "single" else _("multiple choice")
    lines = [_("Question {n}/{total} · {dimension} › {group} ({kind})").format(
        n=iset.codes.index(question.code) + 1, total=len(iset.codes), dimension=dimension.title,
        group=question.group, kind=kind),
        f"{question.code} {question.title}"]
    lines += [f"{o.key}. {o.text}" for o in question.options]
    if question.code in draft.answers:
        lines.append(_("Current answer: {answer}").format(
            answer=answer_text(draft.answers[question.code])))
    if question.type == "single":
        lines.append(_("Reply with one option letter, such as B."))
    else:
        exclusive = next((o.key for o in question.options if o.exclusive), None)
        lines.append(_("Reply with one or more option letters, such as B C.") if exclusive is None
                     else _("Reply with one or more option letters, such as B C ({key} cannot be "
                            "combined with others).").format(key=exclusive))
    if question.derivation is not None:
        lines.append(figures_hint(ctx, iset, question, draft.figures))
    lines.append(_keywords_line(ctx))
    return "\n".join(lines)


def figures_hint(ctx: Context, iset: IndicatorSet, question: Question,
                  figures: Mapping[str, str]) -> str:
    _ = ctx.tr.gettext
    rule = question.derivation
    assert rule is not None
    wanted = [name for name in rule.inputs if name not in figures]
    names = [iset.figure_by_name[name].text for name in rule.inputs]
    hint = _("Or reply with your figures, in this order, separated by /: {figures}.").format(
        figures=" / ".join(names))
    if wanted and len(wanted) < len(rule.inputs):
        known = "，".join(f"{iset.figure_by_name[n].text} {figures[n]}"
                         for n in rule.inputs if n in figures)
        hint += _(" Already known: {known}; you may give just {wanted}.").format(
            known=known, wanted=" / ".join(iset.figure_by_name[n].text for n in wanted))
    return hint


def _scene_prompt(ctx: Context, draft: Draft, iset: IndicatorSet, scene: Scene) -> str:
    _ = ctx.tr.gettext
    kind = _("constraint scene") if scene.constraint else _("scene")
    lines = [_("Question {n}/{total} · {dimension} › {group} ({kind})").format(
        n=iset.codes.index(scene.code) + 1, total=len(iset.codes), dimension=iset.scenes_title,
        group=scene.group, kind=kind),
        _("{code} {name}: the highest level the enterprise fully meets").format(
            code=scene.code, name=scene.name),
        f"0. {iset.unanswered_level_text}"]
    lines += [f"{level}. {text}" for level, text in sorted(scene.levels.items())]
    if scene.code in draft.answers:
        lines.append(_("Current answer: {answer}").format(answer=draft.answers[scene.code]))
    lines.append(scene_forms(ctx, iset))
    lines.append(_keywords_line(ctx))
    return "\n".join(lines)


def review(ctx: Context, draft: Draft, iset: IndicatorSet) -> str:
    _ = ctx.tr.gettext
    profile = draft.profile
    lines = [_("Please check your answers ({answered}/{total} answered).").format(
        answered=answered_count(iset, draft), total=len(iset.codes)),
        _("Enterprise: {name} ({code})").format(name=profile.get("name", ""),
                                                code=profile.get("credit_code", "")),
        _("{city}{county} · {industry} · {employees} employees").format(
            city=profile.get("city", ""), county=profile.get("county", ""),
            industry=_profile_value(ctx, draft, "industry_division")
            if "industry_division" in profile else _profile_value(ctx, draft, "industry"),
            employees=profile.get("employees", ""))]
    for n, code in enumerate(iset.codes, 1):
        value = draft.answers.get(code)
        lines.append(f"{n}. {code} {answer_text(value) if value is not None else '—'}")
    lines.append(_("Reply 修改 N to change question N (you come back here afterwards), or 提交 to "
                   "submit."))
    return "\n".join(lines)


def accepted_forms(ctx: Context, question: Question) -> str:
    _ = ctx.tr.gettext
    keys = "、".join(o.key for o in question.options)
    if question.type == "single":
        return _("Please reply with one option letter ({keys}) or its number.").format(keys=keys)
    return _("Please reply with option letters ({keys}), for example B C, BC or B、C.").format(
        keys=keys)


def scene_forms(ctx: Context, iset: IndicatorSet) -> str:
    return ctx.tr.gettext("Reply with a level from 0 to {max}.").format(max=iset.max_scene_level)


def figures_derived(ctx: Context, iset: IndicatorSet, question: Question, derived: Derived,
                    figures: Mapping[str, Decimal]) -> str:
    _ = ctx.tr.gettext
    rule = question.derivation
    assert rule is not None
    lines = [_("Your figures for {code}:").format(code=question.code)]
    lines += [f"{iset.figure_by_name[n].text}: {number_text(figures[n])}" for n in rule.inputs]
    option = question.option_by_key[derived.key]
    if derived.percent is not None:
        lines.append(_("Result: {percent}% → {key}. {text}").format(
            percent=derived.display_percent(), key=option.key, text=option.text))
    else:
        assert derived.current is not None and derived.previous is not None
        lines.append(_("Result: {current} last year against {previous} the year before → {key}. "
                       "{text}").format(current=display_number(derived.current, 4),
                                        previous=display_number(derived.previous, 4),
                                        key=option.key, text=option.text))
    lines.append(_("Reply 确认 to take this answer, 取消 to discard it, or an option letter."))
    return "\n".join(lines)


def started(ctx: Context, iset: IndicatorSet) -> str:
    return ctx.tr.gettext("Let's begin. First a few facts about the enterprise, then {n} "
                          "questions.").format(n=len(iset.codes))


def resume(ctx: Context, draft: Draft) -> str:
    return ctx.tr.gettext("Welcome back: you are at {where}.").format(where=position(ctx, draft))


def progress(ctx: Context, draft: Draft) -> str:
    _ = ctx.tr.gettext
    iset = ctx.iset(draft)
    return _("Progress: {answered} of {total} questions answered; you are at {where}. Reply 继续 "
             "to go on.").format(answered=answered_count(iset, draft), total=len(iset.codes),
                                 where=position(ctx, draft))


def explain(ctx: Context, draft: Draft) -> str:
    _ = ctx.tr.gettext
    iset = ctx.iset(draft)
    match step_of(iset, draft.step):
        case QuestionStep(question=question):
            lines = [f"{question.code} {question.title}",
                     question.description or _("This question has no further explanation."),
                     _("Choose the option that matches the enterprise's actual situation today.")
                     if question.type == "single" else
                     _("Choose every option the enterprise has actually done; each adds to the "
                       "score, up to {max} points.").format(max=number_text(question.max_score))]
            if question.derivation is not None:
                lines.append(figures_hint(ctx, iset, question, draft.figures))
            return "\n".join(lines)
        case SceneStep(scene=scene):
            lines = [_("{code} {name}: compare the level descriptions with what the enterprise "
                       "does today and reply with the highest level it meets in full; 0 if "
                       "none.").format(code=scene.code, name=scene.name)]
            if scene.constraint:
                lines.append(_("This is a constraint scene: the level rules require a number of "
                               "constraint scenes at each level."))
            return "\n".join(lines)
        case ReviewStep():
            return review_hint(ctx)
        case ProfileStep():
            return _("These facts identify the enterprise's archive; the credit code is on the "
                     "business licence. They are kept with your submission.")
        case unknown:
            assert_never(unknown)


def review_hint(ctx: Context) -> str:
    return ctx.tr.gettext("All questions are answered. Reply 提交 to submit, or 修改 N to change "
                          "question N.")


def no_draft(ctx: Context) -> str:
    return ctx.tr.gettext("You have no assessment in progress. Reply 开始测评 to begin, or 结果 "
                          "for your latest result.")


def at_first_step(ctx: Context) -> str:
    return ctx.tr.gettext("This is the first step.")


def nothing_to_confirm(ctx: Context) -> str:
    return ctx.tr.gettext("There is nothing to confirm right now.")


def no_such_question(ctx: Context, total: int) -> str:
    return ctx.tr.gettext("There is no such question: use a number from 1 to {total}, such as "
                          "修改 7.").format(total=total)


def confirm_restart(ctx: Context, draft: Draft) -> str:
    _ = ctx.tr.gettext
    iset = ctx.iset(draft)
    return _("Start again? Your {answered} answers and the profile will be discarded. Reply 确认 "
             "to start again or 取消 to keep them.").format(answered=answered_count(iset, draft))


def restart_cancelled(ctx: Context) -> str:
    return ctx.tr.gettext("Nothing was discarded.")


def restarted(ctx: Context) -> str:
    return ctx.tr.gettext("Your answers were discarded; let's start again.")


def archive_found(ctx: Context, profile: Mapping[str, Any]) -> str:
    _ = ctx.tr.gettext
    return _("This credit code already has an archive: {name}, {city}{county}, {employees} "
             "employees. Reply 确认 to use this profile, or 取消 to enter it again.").format(
        name=profile.get("name", ""), city=profile.get("city", ""),
        county=profile.get("county", ""), employees=profile.get("employees") or "—")


def archive_reused(ctx: Context) -> str:
    return ctx.tr.gettext("The archived profile is used.")


def figures_discarded(ctx: Context) -> str:
    return ctx.tr.gettext("The computed answer was discarded.")


def not_complete(ctx: Context, draft: Draft, iset: IndicatorSet) -> str:
    return ctx.tr.gettext("Not everything is answered yet ({answered}/{total}); please answer "
                          "this first:").format(answered=answered_count(iset, draft),
                                                total=len(iset.codes))


def where(ctx: Context, draft: Draft | None) -> str:
    if draft is None:
        return ""
    return "\n" + ctx.tr.gettext("You are at {where}: reply 继续 to see it again.").format(
        where=position(ctx, draft))
