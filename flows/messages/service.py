"""The service lines around the questionnaire: welcome, help, "more", what cannot be read.

Wording is gettext (`ctx.tr`); indicator texts come from the indicator data file.
"""

from __future__ import annotations

from flows.messages.questionnaire import position
from flows.state import Context, Draft


def more_hint(ctx: Context) -> str:
    return ctx.tr.gettext("(Reply 更多 for the rest.)")


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
            where=position(ctx, draft))
    return text + "\n" + _("Reply 开始测评 to begin, or 帮助 for all commands.")


def help_text(ctx: Context, draft: Draft | None, *, commissioner: bool = False) -> str:
    _ = ctx.tr.gettext
    lines = [_("Commands:")]
    if commissioner:  # 进度 is then the area's, not the own questionnaire's
        lines += [_("进度: your area at a glance (enterprises by status, levels)"),
                  _("名单 未开始 / 名单 进行中 / 名单 已提交: the enterprises of your area; 下一页 "
                    "for the rest"),
                  _("催办: nudge every unfinished enterprise of your area (催办 CREDIT-CODE: one)"),
                  _("后台: a sign-in link to the console in a browser")]
    lines += [_("开始测评: start an assessment"), _("继续: continue where you stopped")]
    if not commissioner:
        lines.append(_("进度: how far you are"))
    lines += [_("上一题: back to the previous question"),
              _("修改 N: change question N, then come back"),
              _("说明: explanation of the current question"),
              _("重新开始: discard the answers and start again"),
              _("提交: submit after the review"),
              _("结果: your latest result"),
              _("方案 / 方案 N / 对接 N: solutions that fit your result / one of them / have its "
                "provider call you"),
              _("更多: the rest of a long message"),
              _("通知: trainings and events for you, with your sign-ups"),
              _("报名 N / 取消报名 N: sign up for notice N / withdraw"),
              _("退订通知 / 订阅通知: stop / receive training and event notices")]
    if draft is not None:
        lines.append(_("You are at {where}.").format(where=position(ctx, draft)))
    return "\n".join(lines)


def not_text(ctx: Context, draft: Draft | None) -> str:
    _ = ctx.tr.gettext
    text = _("I can only read text messages.")
    if draft is not None:
        return text + " " + _("You are at {where}: reply 继续 to see it again.").format(
            where=position(ctx, draft))
    return text + " " + _("Reply 开始测评 to begin, or 帮助 for all commands.")


def no_more(ctx: Context) -> str:
    return ctx.tr.gettext("There is nothing more to show.")


def unavailable(ctx: Context) -> str:
    return ctx.tr.gettext("Sorry, this is not available just now; please try again in a moment.")
