"""Trainings and events in words: the chat's list, sign-up, withdrawal and opt-out, and the
messages the notice workers send (template fields and customer-service texts).

Wording is gettext (`ctx.tr`); indicator texts come from the indicator data file.
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.beijing_time import china_minute, epoch_minute
from flows.i18n import Translator
from flows.messages.questionnaire import where
from flows.notices import LeadNotice, NoticeItem, NoticeMessage, Purpose
from flows.solutions import CALL_WITHIN_WORKING_DAYS
from flows.state import Context, Draft


def notices_choice(ctx: Context, draft: Draft | None, *, opted_out: bool) -> str:
    _ = ctx.tr.gettext
    text = (_("You will no longer receive training and event notices (reminders of your own "
              "sign-ups still come). Reply 订阅通知 to receive them again.") if opted_out
            else _("You will receive training and event notices again."))
    return text + where(ctx, draft)


def _notice_line(ctx: Context, item: NoticeItem) -> str:
    _ = ctx.tr.gettext
    head = f"{item.id}. 【{item.title}】 {epoch_minute(item.starts_at)}"
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
                 "will send you a notice.") + where(ctx, draft)
    lines = [_("Trainings and events for you:")]
    lines.extend(_notice_line(ctx, item) for item in items)
    lines.append(_("Reply 报名 N to sign up for notice N, 取消报名 N to withdraw."))
    return "\n".join(lines) + where(ctx, draft)


def signed_up(ctx: Context, draft: Draft | None, item: NoticeItem | None, outcome: str,
              position: int | None, *, already: bool) -> str:
    _ = ctx.tr.gettext
    if item is None or outcome == "not_found":
        return _("There is no such notice for you. Reply 通知 to see the trainings and events "
                 "you can sign up for.") + where(ctx, draft)
    title, start = item.title, epoch_minute(item.starts_at)
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
    return text + where(ctx, draft)


def withdrawn(ctx: Context, draft: Draft | None, number: int, item: NoticeItem | None, *,
              withdrawn: bool) -> str:
    _ = ctx.tr.gettext
    if item is None or not withdrawn:
        return _("You have not signed up for notice {number}. Reply 通知 to see your "
                 "sign-ups.").format(number=number) + where(ctx, draft)
    return _("Your sign-up for 【{title}】 is withdrawn.").format(title=item.title) + where(
        ctx, draft)


THING_MAX = 20  # WeChat: a template's "thing" field holds 20 characters


def headline(tr: Translator, message: NoticeMessage, purpose: Purpose) -> str:
    _ = tr.gettext
    if purpose == "reminder":
        return _("Reminder: {title}").format(title=message.title)
    if purpose == "promoted":
        return _("Registered: {title}").format(title=message.title)
    if purpose == "cancelled":
        return _("Cancelled: {title}").format(title=message.title)
    if purpose == "nudge":
        return _("Please finish your digital-level assessment")
    if purpose == "lead" and message.lead is not None:
        return _("对接 request: {title}").format(title=message.lead.solution)
    return message.title


def _place(tr: Translator, message: NoticeMessage, purpose: Purpose) -> str:
    if purpose == "nudge":
        return tr.gettext("Reply 继续 to go on")
    if purpose == "lead" and message.lead is not None:
        # The mobile first: what the template's short field must not lose.
        return f"{message.lead.mobile} {message.lead.enterprise}"
    return message.place or message.link or ""


def lead_text(tr: Translator, lead: LeadNotice, industry: str) -> str:
    """A new lead as its provider's contact reads it: who asks, for what, whom to call and
    by when."""
    _ = tr.gettext
    return "\n".join([
        _("New 对接 request: {enterprise} ({place}, {industry}) asks to hear from you about "
          "「{solution}」.").format(enterprise=lead.enterprise, place=lead.city + lead.county,
                                   industry=industry, solution=lead.solution),
        _("Mobile: {mobile} (they agreed that you call them about this solution).").format(
            mobile=lead.mobile),
        _("Please call within {days} working days.").format(days=CALL_WITHIN_WORKING_DAYS)])


def template_fields(tr: Translator, message: NoticeMessage, purpose: Purpose) -> dict[str, str]:
    """The template (or subscribe) message's fields: what, when, where."""
    return {"thing1": headline(tr, message, purpose)[:THING_MAX],
            "time2": china_minute(message.starts_at),
            "thing3": _place(tr, message, purpose)[:THING_MAX]}


def custom_text(tr: Translator, message: NoticeMessage, purpose: Purpose, *,
                draft_days: int) -> str:
    """The customer-service message: the whole notice, or the registrant's own news, or the
    nudge (`draft_days`: how long a draft is kept after its last answer), or the lead."""
    _ = tr.gettext
    start = china_minute(message.starts_at)
    if purpose == "lead" and message.lead is not None:
        return lead_text(tr, message.lead, message.industry)
    if purpose == "nudge":
        prompt = _("Reply 继续 to go on where you stopped (a draft is kept for {days} days "
                   "after its last answer), or 开始 to begin.").format(days=draft_days)
        if message.title:
            return _("{name}, digital commissioner for {area}, reminds you: your "
                     "enterprise's digital-level self-assessment is not finished yet."
                     ).format(name=message.title, area=message.body) + "\n" + prompt
        return _("Your enterprise's digital-level self-assessment has not moved on for a "
                 "while.") + "\n" + prompt
    if purpose == "reminder":
        lines = [_("Reminder: 【{title}】 you signed up for starts at {start}.").format(
            title=message.title, start=start)]
    elif purpose == "promoted":
        lines = [_("A place became free: you are now registered for 【{title}】 "
                   "({start}).").format(title=message.title, start=start),
                 _("Reply 取消报名 {number} if you cannot come.").format(number=message.id)]
    elif purpose == "cancelled":
        return _("【{title}】 ({start}) has been cancelled. We apologise for the "
                 "inconvenience.").format(title=message.title, start=start)
    else:
        lines = [f"【{message.title}】", message.body, _("Time: {start}").format(start=start)]
    place = _place(tr, message, purpose)
    if place:
        lines.append(_("Place: {place}").format(place=place))
    if purpose == "notice" and message.signup_open:
        lines.append(_("Reply 报名 {number} to sign up.").format(number=message.id))
    return "\n".join(lines)
