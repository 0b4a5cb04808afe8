"""What digital commissioners read in the chat: binding, their area at a glance, its lists
and what a 催办 came to.

Wording is gettext (`ctx.tr`); indicator texts come from the indicator data file.
"""

from __future__ import annotations

from flows.commissioners import NUDGE_DAYS, ROSTER_SHOWN, AreaProgress, NudgeReport, RosterPage
from flows.state import Context
from flows.statistics import share
from flows.statuses import STATUS_TITLES


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
    if reason == "expired":
        return _("This code has expired. Ask whoever gave it to you for a new one.")
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


def console_link(ctx: Context, url: str, minutes: int) -> str:
    return ctx.tr.gettext("Your sign-in link to the console (it works once, for {minutes} "
                          "minutes; open it in a browser, on a computer or here):\n{url}").format(
        minutes=minutes, url=url)


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
