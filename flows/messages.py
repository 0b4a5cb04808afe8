"""The texts the conversation sends: questions, review, result and the short service lines.

Wording is gettext (`ctx.tr`); indicator texts (questions, options, scene levels, level names)
come from the indicator data file; this module only arranges them for a phone screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from flows.commissioners import NUDGE_DAYS, ROSTER_SHOWN, AreaProgress, NudgeReport, RosterPage
from flows.figures import Derived, display_number
from flows.indicators import IndicatorSet, Question, Scene
from flows.notices import STATUS_TITLES, NoticeItem
from flows.scoring import number_text
from flows.state import PROFILE_STEPS, REVIEW, Context, Draft, PastResult, answered_count
from flows.statistics import share

CHINA_TIME = timezone(timedelta(hours=8))


# --- small pieces ---------------------------------------------------------------------------

def more_hint(ctx: Context) -> str:
    return ctx.tr.gettext("(Reply 更多 for the rest.)")


def _position(ctx: Context, draft: Draft) -> str:
    """Where the person is, in words: 企业信息, 第 7/31 题 or 答案核对."""
    _ = ctx.tr.gettext
    iset = ctx.iset(draft)
    if draft.step in PROFILE_STEPS:
        return _("the enterprise profile")
    if draft.step == REVIEW:
        return _("the review of your answers")
    return _("question {n}/{total}").format(n=iset.codes.index(draft.step) + 1,
                                             total=len(iset.codes))


def _answer_text(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(value)
    return str(value)


def china_day(at: datetime) -> str:
    """A moment as our users read a date: Beijing time, 2026-12-10."""
    return at.astimezone(CHINA_TIME).strftime("%Y-%m-%d")


def china_minute(at: datetime) -> str:
    """A moment as our users read a time: Beijing time, 2026-12-10 09:00."""
    return at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")


def _date(epoch: int) -> str:
    return china_day(datetime.fromtimestamp(epoch, tz=UTC))


def _keywords_line(ctx: Context) -> str:
    return ctx.tr.gettext("说明: explain this question · 上一题: go back · 进度: progress · "
                          "帮助: all commands")


# --- the questionnaire ----------------------------------------------------------------------

def prompt(ctx: Context, draft: Draft, order: Sequence[str]) -> str:
    """The current step, asked in full."""
    iset = ctx.iset(draft)
    step = draft.step
    if step == REVIEW:
        return review(ctx, draft, iset)
    if step in PROFILE_STEPS:
        return _profile_prompt(ctx, draft, [s for s in order if s in PROFILE_STEPS])
    question = iset.question_by_code.get(step)
    if question is not None:
        return _question_prompt(ctx, draft, iset, question)
    return _scene_prompt(ctx, draft, iset, iset.scene_by_code[step])


def _profile_prompt(ctx: Context, draft: Draft, profile_steps: list[str]) -> str:
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
            answer=_answer_text(draft.answers[question.code])))
    if question.type == "single":
        lines.append(_("Reply with one option letter, such as B."))
    else:
        exclusive = next((o.key for o in question.options if o.exclusive), None)
        lines.append(_("Reply with one or more option letters, such as B C.") if exclusive is None
                     else _("Reply with one or more option letters, such as B C ({key} cannot be "
                            "combined with others).").format(key=exclusive))
    if question.derivation is not None:
        lines.append(_figures_hint(ctx, iset, question, draft.figures))
    lines.append(_keywords_line(ctx))
    return "\n".join(lines)


def _figures_hint(ctx: Context, iset: IndicatorSet, question: Question,
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
        lines.append(f"{n}. {code} {_answer_text(value) if value is not None else '—'}")
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


def figure_forms(ctx: Context, iset: IndicatorSet, question: Question,
                 figures: Mapping[str, str]) -> str:
    return _figures_hint(ctx, iset, question, figures)


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


# --- service lines --------------------------------------------------------------------------

def welcome(ctx: Context, draft: Draft | None) -> str:
    _ = ctx.tr.gettext
    iset = ctx.iset(draft)
    text = _("Welcome! Here you can assess your enterprise's digital level against 《{name}》 on "
             "your phone: {questions} scored questions and {scenes} business scenes, one at a "
             "time. You can stop at any time and continue later, and you get a preliminary level "
             "with what to do next as soon as you submit.").format(
        name=iset.name, questions=len(iset.questions), scenes=len(iset.scenes))
    if draft is not None:
        return text + "\n" + _("You have an unfinished assessment at {where}: reply 继续.").format(
            where=_position(ctx, draft))
    return text + "\n" + _("Reply 开始测评 to begin, or 帮助 for all commands.")


def help_text(ctx: Context, draft: Draft | None, *, commissioner: bool = False) -> str:
    _ = ctx.tr.gettext
    lines = [_("Commands:")]
    if commissioner:  # 进度 is then the area's, not the own questionnaire's
        lines += [_("进度: your area at a glance (enterprises by status, levels)"),
                  _("名单 未开始 / 名单 进行中 / 名单 已提交: the enterprises of your area; 下一页 "
                    "for the rest"),
                  _("催办: nudge every unfinished enterprise of your area (催办 CREDIT-CODE: one)")]
    lines += [_("开始测评: start an assessment"), _("继续: continue where you stopped")]
    if not commissioner:
        lines.append(_("进度: how far you are"))
    lines += [_("上一题: back to the previous question"),
              _("修改 N: change question N, then come back"),
              _("说明: explanation of the current question"),
              _("重新开始: discard the answers and start again"),
              _("提交: submit after the review"),
              _("结果: your latest result"),
              _("更多: the rest of a long message"),
              _("通知: trainings and events for you, with your sign-ups"),
              _("报名 N / 取消报名 N: sign up for notice N / withdraw"),
              _("退订通知 / 订阅通知: stop / receive training and event notices")]
    if draft is not None:
        lines.append(_("You are at {where}.").format(where=_position(ctx, draft)))
    return "\n".join(lines)


# --- commissioners ---------------------------------------------------------------------------

def bind_how(ctx: Context) -> str:
    return ctx.tr.gettext("Send 绑定 followed by the code you were given, such as 绑定 "
                          "7KQ9M3TXCA.")


def commissioner_bound(ctx: Context, name: str, area: str) -> str:
    return ctx.tr.gettext("Bound: you are {name}, digital commissioner for {area}. Reply 进度 "
                          "for your area at a glance, or 帮助 for your commands.").format(
        name=name, area=area)


def bind_refused(ctx: Context, reason: str) -> str:
    _ = ctx.tr.gettext
    if reason == "too_many":
        return _("Too many attempts; please try again in an hour.")
    return _("This code is not valid: it may be mistyped, used already or expired. Ask for a "
             "new one if needed.")


def not_commissioner(ctx: Context) -> str:
    return ctx.tr.gettext("This is for digital commissioners. If you are one, send 绑定 with "
                          "your code first.")


def roster_how(ctx: Context) -> str:
    return ctx.tr.gettext("Reply 名单 未开始, 名单 进行中 or 名单 已提交.")


def _share(part: int, whole: int) -> str:
    value = share(part, whole)
    return "0%" if value is None else f"{value}%"


def scope_progress(ctx: Context, loaded: AreaProgress) -> str:
    _ = ctx.tr.gettext
    iset = ctx.iset(None)
    by = loaded.by_status
    lines = [_("Your area ({area}): {total} enterprises").format(area=loaded.area,
                                                                  total=loaded.total),
             _("Not started {n}, in progress {m}, submitted {k}; completion {share}").format(
                 n=by.get("not_started", 0), m=by.get("in_progress", 0),
                 k=by.get("submitted", 0), share=_share(by.get("submitted", 0), loaded.total))]
    if loaded.levels:
        lines.append(_("Preliminary levels: {levels}").format(levels="、".join(
            f"{iset.level_name(level)} {n}" for level, n in sorted(loaded.levels.items()))))
    lines.append(_("Reply 名单 未开始, 名单 进行中 or 名单 已提交 for the enterprises."))
    return "\n".join(lines)


def roster(ctx: Context, loaded: RosterPage) -> str:
    _ = ctx.tr.gettext
    title = _(STATUS_TITLES[loaded.status])
    if not loaded.entries:
        return _("{title}: none in your area.").format(title=title)
    lines = [_("{title}: {total} enterprises").format(title=title, total=loaded.total)]
    for i, entry in enumerate(loaded.entries, loaded.offset + 1):
        line = f"{i}. {entry.name}（{entry.county}）{entry.credit_code}"
        lines.append(f"{line} {entry.detail}".rstrip())
    following = loaded.next_offset
    if following is not None:
        lines.append(_("Reply 下一页 for numbers {first} to {last} of {total}.").format(
            first=following + 1, last=min(loaded.total, following + ROSTER_SHOWN),
            total=loaded.total))
    return "\n".join(lines)


def nudge_how(ctx: Context, problem: str) -> str:
    return problem + "\n" + ctx.tr.gettext(
        "Send 催办 alone for every unfinished enterprise of your area, or 催办 followed by one "
        "enterprise's unified social credit code.")


def nudged(ctx: Context, report: NudgeReport) -> str:
    _ = ctx.tr.gettext
    if not report.found:
        return _("No enterprise with the credit code {code} is in your area.").format(
            code=report.credit_code)
    lines = [_("Nudged {n} enterprises ({people} people); they are told through the Official "
               "Account or the mini-program.").format(n=report.nudged, people=report.people)
             if report.nudged else _("Nobody was nudged.")]
    skipped = []
    if report.recent:
        skipped.append(_("{n} nudged within the last {days} days (at most one nudge every "
                         "{days} days, whoever sends it)").format(n=report.recent,
                                                                 days=NUDGE_DAYS))
    if report.no_contact:
        skipped.append(_("{n} not reachable on WeChat: nobody there has named the enterprise "
                         "yet; 名单 未开始 shows their contacts for a call").format(
                             n=report.no_contact))
    if report.submitted:
        skipped.append(_("{n} submitted already").format(n=report.submitted))
    if skipped:
        lines.append(_("Skipped: {reasons}.").format(reasons="; ".join(skipped)))
    return "\n".join(lines)


def notices_choice(ctx: Context, draft: Draft | None, *, opted_out: bool) -> str:
    _ = ctx.tr.gettext
    text = (_("You will no longer receive training and event notices (reminders of your own "
              "sign-ups still come). Reply 订阅通知 to receive them again.") if opted_out
            else _("You will receive training and event notices again."))
    return text + _where(ctx, draft)


def _where(ctx: Context, draft: Draft | None) -> str:
    if draft is None:
        return ""
    return "\n" + ctx.tr.gettext("You are at {where}: reply 继续 to see it again.").format(
        where=_position(ctx, draft))


def _minute(epoch: int) -> str:
    return china_minute(datetime.fromtimestamp(epoch, tz=UTC))


def _notice_line(ctx: Context, item: NoticeItem) -> str:
    _ = ctx.tr.gettext
    head = f"{item.id}. 【{item.title}】 {_minute(item.starts_at)}"
    if item.place:
        head += f" {item.place}"
    if item.signup == "registered":
        state = _("you are registered")
    elif item.signup == "waitlisted":
        state = _("you are number {n} on the waiting list").format(n=item.position)
    elif not item.signup_open:
        state = _("sign-up closed")
    elif item.full:
        state = _("full: a sign-up goes on the waiting list")
    else:
        state = _("sign-up open")
    return f"{head}\n   {state}"


def notices_list(ctx: Context, draft: Draft | None, items: Sequence[NoticeItem]) -> str:
    _ = ctx.tr.gettext
    if not items:
        return _("There are no trainings or events for you at the moment; when there are, we "
                 "will send you a notice.") + _where(ctx, draft)
    lines = [_("Trainings and events for you:")]
    lines.extend(_notice_line(ctx, item) for item in items)
    lines.append(_("Reply 报名 N to sign up for notice N, 取消报名 N to withdraw."))
    return "\n".join(lines) + _where(ctx, draft)


def signed_up(ctx: Context, draft: Draft | None, item: NoticeItem | None, outcome: str,
              position: int | None, *, already: bool) -> str:
    _ = ctx.tr.gettext
    if item is None or outcome == "not_found":
        return _("There is no such notice for you. Reply 通知 to see the trainings and events "
                 "you can sign up for.") + _where(ctx, draft)
    title, start = item.title, _minute(item.starts_at)
    if outcome == "closed":
        text = _("Sign-up for 【{title}】 is closed.").format(title=title)
    elif outcome == "registered":
        text = (_("You are already registered for 【{title}】 ({start}).") if already else
                _("You are registered for 【{title}】 ({start}). We will remind you before it "
                  "starts; reply 取消报名 {number} if you cannot come.")).format(
            title=title, start=start, number=item.id)
    else:
        text = (_("You are already on the waiting list for 【{title}】: number {n}.") if already
                else _("【{title}】 is full: you are number {n} on the waiting list. When a place "
                       "becomes free you move up and we tell you.")).format(title=title,
                                                                           n=position)
    return text + _where(ctx, draft)


def withdrawn(ctx: Context, draft: Draft | None, number: int, item: NoticeItem | None, *,
              withdrawn: bool) -> str:
    _ = ctx.tr.gettext
    if item is None or not withdrawn:
        return _("You have not signed up for notice {number}. Reply 通知 to see your "
                 "sign-ups.").format(number=number) + _where(ctx, draft)
    return _("Your sign-up for 【{title}】 is withdrawn.").format(title=item.title) + _where(
        ctx, draft)


def started(ctx: Context, iset: IndicatorSet) -> str:
    return ctx.tr.gettext("Let's begin. First a few facts about the enterprise, then {n} "
                          "questions.").format(n=len(iset.codes))


def resume(ctx: Context, draft: Draft) -> str:
    return ctx.tr.gettext("Welcome back: you are at {where}.").format(where=_position(ctx, draft))


def progress(ctx: Context, draft: Draft) -> str:
    _ = ctx.tr.gettext
    iset = ctx.iset(draft)
    return _("Progress: {answered} of {total} questions answered; you are at {where}. Reply 继续 "
             "to go on.").format(answered=answered_count(iset, draft), total=len(iset.codes),
                                 where=_position(ctx, draft))


def explain(ctx: Context, draft: Draft) -> str:
    _ = ctx.tr.gettext
    iset = ctx.iset(draft)
    step = draft.step
    question = iset.question_by_code.get(step)
    if question is not None:
        lines = [f"{question.code} {question.title}"]
        lines.append(question.description or _("This question has no further explanation."))
        lines.append(_("Choose the option that matches the enterprise's actual situation today.")
                     if question.type == "single" else
                     _("Choose every option the enterprise has actually done; each adds to the "
                       "score, up to {max} points.").format(max=number_text(question.max_score)))
        if question.derivation is not None:
            lines.append(_figures_hint(ctx, iset, question, draft.figures))
        return "\n".join(lines)
    scene = iset.scene_by_code.get(step)
    if scene is not None:
        lines = [_("{code} {name}: compare the level descriptions with what the enterprise does "
                   "today and reply with the highest level it meets in full; 0 if none.").format(
            code=scene.code, name=scene.name)]
        if scene.constraint:
            lines.append(_("This is a constraint scene: the level rules require a number of "
                           "constraint scenes at each level."))
        return "\n".join(lines)
    if step == REVIEW:
        return review_hint(ctx)
    return _("These facts identify the enterprise's archive; the credit code is on the business "
             "licence. They are kept with your submission.")


def review_hint(ctx: Context) -> str:
    return ctx.tr.gettext("All questions are answered. Reply 提交 to submit, or 修改 N to change "
                          "question N.")


def not_text(ctx: Context, draft: Draft | None, msg_type: str) -> str:
    _ = ctx.tr.gettext
    text = _("I can only read text messages.")
    if draft is not None:
        return text + " " + _("You are at {where}: reply 继续 to see it again.").format(
            where=_position(ctx, draft))
    return text + " " + _("Reply 开始测评 to begin, or 帮助 for all commands.")


def no_draft(ctx: Context) -> str:
    return ctx.tr.gettext("You have no assessment in progress. Reply 开始测评 to begin, or 结果 "
                          "for your latest result.")


def no_more(ctx: Context, draft: Draft | None) -> str:
    return ctx.tr.gettext("There is nothing more to show.")


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


def submit_failed(ctx: Context) -> str:
    return ctx.tr.gettext("Sorry, the submission could not be saved just now. Your answers are "
                          "kept: please reply 提交 again in a moment.")


def unavailable(ctx: Context) -> str:
    return ctx.tr.gettext("Sorry, this is not available just now; please try again in a moment.")


def no_results(ctx: Context, draft: Draft | None) -> str:
    _ = ctx.tr.gettext
    text = _("There is no submitted assessment yet.")
    if draft is not None:
        return text + " " + _("You have an unfinished assessment at {where}: reply 继续.").format(
            where=_position(ctx, draft))
    return text + " " + _("Reply 开始测评 to begin, or 帮助 for all commands.")


# --- the result -----------------------------------------------------------------------------

def result(ctx: Context, latest: PastResult, previous: PastResult | None, *, fresh: bool,
           draft: Draft | None = None) -> str:
    """The preliminary level with scores, scenes, the gap to the next level and suggestions."""
    _ = ctx.tr.gettext
    data = latest.data
    iset = ctx.sets.get(str(data.get("indicator_set")), ctx.iset(None))
    maxima = {d.code: d.max_score for d in iset.dimensions}
    titles = {d.code: d.title for d in iset.dimensions}
    lines = [_("Preliminary result for {name} ({date})").format(name=latest.enterprise_name,
                                                                 date=_date(latest.submitted_at)),
             _("Level: {level}").format(level=latest.level_name),
             _("Total {total}/{max}: {dimensions}").format(
                 total=number_text(Decimal(str(data["total"]))),
                 max=number_text(Decimal(str(data["max_score"]))),
                 dimensions=" · ".join(
                     f"{titles.get(code, code)} {number_text(Decimal(str(score)))}/"
                     f"{number_text(maxima.get(code, Decimal(0)))}"
                     for code, score in data["dimensions"].items()))]
    if previous is not None:
        lines.append(_change(ctx, latest, previous))
    counts = [c for c in data["scene_counts"] if c["level"] >= 1]
    lines.append(_("Scenes reaching each level: {counts}").format(counts=_("; ").join(
        _("≥{level}: {n} ({c} constraint)").format(level=c["level"], n=c["scenes_at_least"],
                                                   c=c["constraint_scenes_at_least"])
        for c in counts)))
    gap = data.get("next_level")
    if gap is None:
        lines.append(_("This is the highest level."))
    else:
        needs = []
        points = Decimal(str(gap["points_missing"]))
        if points > 0:
            needs.append(_("{points} more points").format(points=number_text(points)))
        if gap["scenes_missing"] or gap["constraint_scenes_missing"]:
            needs.append(_("{n} more scenes at level {level} ({c} of them constraint "
                           "scenes)").format(n=max(gap["scenes_missing"],
                                                   gap["constraint_scenes_missing"]),
                                             level=gap["scene_level"],
                                             c=gap["constraint_scenes_missing"]))
        lines.append(_("For {level} you still need: {needs}.").format(
            level=gap["name"], needs=_("; ").join(needs)))
        if gap["scenes_to_lift"]:
            lines.append(_("Closest scenes: {scenes}").format(scenes="、".join(
                f"{s['name']}（{s['level']}→{s['target']}）" for s in gap["scenes_to_lift"])))
    suggestions = data.get("suggestions") or []
    if suggestions:
        lines.append(_("What to do first:"))
        lines += [f"{i}. {s['text']}" for i, s in enumerate(suggestions, 1)]
    lines.append(_("This is a preliminary self-assessment; the official level is confirmed by "
                   "on-site evaluation by an evaluation agency."))
    if not fresh and draft is not None:
        lines.append(_("You have an unfinished assessment at {where}: reply 继续.").format(
            where=_position(ctx, draft)))
    return "\n".join(lines)


def _change(ctx: Context, latest: PastResult, previous: PastResult) -> str:
    _ = ctx.tr.gettext
    delta = latest.total - previous.total
    if latest.level > previous.level:
        direction = _("level up")
    elif latest.level < previous.level:
        direction = _("level down")
    else:
        direction = _("same level")
    sign = "+" if delta > 0 else ""
    return _("Since {date} ({level}, {total} points): {direction}, {sign}{delta} points").format(
        date=_date(previous.submitted_at), level=previous.level_name,
        total=number_text(previous.total), direction=direction, sign=sign,
        delta=number_text(delta))
