"""The province's solutions as the chat shows them after a result: why each is proposed, the
list (方案), one solution (方案 N) and 供需对接 (对接 N, the mobile, the lead recorded).

Wording is gettext (`ctx.tr`); titles, summaries and providers come from the pool, scene and
level names from the indicator data file.
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.solutions import CALL_WITHIN_WORKING_DAYS, Match, Solution
from flows.state import Context, LeadOffer


def reason(ctx: Context, found: Match) -> str:
    """Why the solution is proposed, in one line: the scene it lifts and what that does for the
    next level."""
    _ = ctx.tr.gettext
    iset = ctx.iset(None)
    lift = found.lifts[0]
    level = iset.level_name(lift.target)
    if found.next_level is None or not found.supplies:
        line = _("lifts 「{scene}」 to {level}").format(scene=lift.name, level=level)
    elif found.remaining:
        line = _("lifts 「{scene}」 to {level}; {next} then still needs {n} more scenes").format(
            scene=lift.name, level=level, next=iset.level_name(found.next_level),
            n=found.remaining)
    else:
        line = _("lifts 「{scene}」 to {level}, which completes the scenes {next} needs").format(
            scene=lift.name, level=level, next=iset.level_name(found.next_level))
    if len(found.lifts) > 1:
        line += _(" (and {n} more scenes)").format(n=len(found.lifts) - 1)
    return line


def _headline(ctx: Context, number: int, solution: Solution) -> str:
    _ = ctx.tr.gettext
    provider = solution.provider.name
    if solution.provider.leading:
        provider = _("{provider}, a leading provider").format(provider=provider)
    line = f"{number}. {solution.title}（{provider}）"
    if solution.free_trial:
        line += _(" · free trial first")
    return line


def proposals(ctx: Context, matches: Sequence[Match]) -> str:
    """The end of a result: the best few solutions, or that none fits yet."""
    _ = ctx.tr.gettext
    if not matches:
        return _("No solution of the province's pool fits your enterprise yet; reply 方案 later "
                 "to look again.")
    lines = [_("Solutions that fit (from the province's pool):")]
    for number, found in enumerate(matches, 1):
        lines.append(_headline(ctx, number, found.solution))
        lines.append("   " + reason(ctx, found))
    lines.append(_("Reply 方案 N for one of them, 对接 N to have its provider call you, 方案 for "
                   "the whole list."))
    return "\n".join(lines)


def solution_list(ctx: Context, matches: Sequence[Match], *, submitted: bool) -> str:
    _ = ctx.tr.gettext
    if not submitted:
        return _("Solutions are matched to your result: reply 开始测评 and submit first.")
    return proposals(ctx, matches)


def detail(ctx: Context, number: int, found: Match | None) -> str:
    """方案 N."""
    _ = ctx.tr.gettext
    if found is None:
        return _("Solution {number} is no longer offered to your enterprise; reply 方案 for the "
                 "current list.").format(number=number)
    solution = found.solution
    lines = [_headline(ctx, number, solution), "   " + reason(ctx, found)]
    if solution.summary:
        lines.append(solution.summary)
    lines.append(_("Scenes it lifts for you: {scenes}").format(scenes="、".join(
        f"{lift.name} {lift.level}→{lift.target}" for lift in found.lifts)))
    deployment = {"cloud": _("cloud"), "local": _("on premises"),
                  "both": _("cloud or on premises")}[solution.deployment]
    facts = [_("Deployment: {how}").format(how=deployment)]
    if solution.price:
        facts.append(_("Price: {price}").format(price=solution.price))
    lines.append(" · ".join(facts))
    if solution.link:
        lines.append(solution.link)
    lines.append(_("Reply 对接 {number} to have the provider call you.").format(number=number))
    return "\n".join(lines)


def not_listed(ctx: Context, number: int, shown: int) -> str:
    _ = ctx.tr.gettext
    if not shown:
        return _("Reply 方案 first for the list of solutions that fit your enterprise.")
    return _("There is no solution {number} in the list (1 to {shown}); reply 方案 for the "
             "list.").format(number=number, shown=shown)


def connect_how(ctx: Context) -> str:
    return ctx.tr.gettext("Reply 对接 N with the number of a solution in the list (reply 方案 for "
                          "the list).")


def lead_offer(ctx: Context, offer: LeadOffer) -> str:
    return ctx.tr.gettext(
        "To have {provider} call you about 「{title}」, reply with your mobile number: giving "
        "it, you agree that the provider contacts you about this solution. Reply 取消 to "
        "leave it.").format(provider=offer.provider, title=offer.title)


def mobile_needed(ctx: Context, offer: LeadOffer) -> str:
    return ctx.tr.gettext("Please reply with your mobile number (11 digits) for {provider}, or "
                          "取消.").format(provider=offer.provider)


def lead_cancelled(ctx: Context) -> str:
    return ctx.tr.gettext("Nothing was passed on to the provider.")


def lead_created(ctx: Context, title: str, provider: str, contact: str | None, *,
                 already: bool) -> str:
    _ = ctx.tr.gettext
    who = provider if not contact else _("{contact} of {provider}").format(contact=contact,
                                                                          provider=provider)
    if already:
        return _("Your request about 「{title}」 is already with {provider}: {who} will call "
                 "you.").format(title=title, provider=provider, who=who)
    return _("Passed on: {who} will call you about 「{title}」 within {days} working days. "
             "Your digital commissioner can see the request too.").format(
        who=who, title=title, days=CALL_WITHIN_WORKING_DAYS)


def lead_refused(ctx: Context, reason_code: str) -> str:
    _ = ctx.tr.gettext
    if reason_code == "no_result":
        return _("Solutions are matched to your result: reply 开始测评 and submit first.")
    return _("This solution is no longer offered; reply 方案 for the current list.")


def lead_failed(ctx: Context) -> str:
    return ctx.tr.gettext("Sorry, the request could not be recorded just now; please send your "
                          "mobile number again in a moment.")


def provider_contact_bound(ctx: Context, provider: str) -> str:
    return ctx.tr.gettext("Bound: you are now the WeChat contact of {provider}. New 对接 "
                          "requests for its solutions will arrive here, with the mobile to "
                          "call.").format(provider=provider)
