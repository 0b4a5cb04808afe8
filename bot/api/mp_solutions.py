"""The province's solutions in the mini-program, as the chat offers them: the matches of a
result, one solution with why it fits, a lead (供需对接) with the person's consent and mobile,
and the enterprise's leads with their status. Same matching (`bot.chat.matching`), same
wording (`flows.messages.solutions`), same one-open-lead rule (`storage.leads`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.api.json_api import MAX_ID
from flows.i18n import N_
from flows.leads import STATUS_TITLES, as_lead_status
from flows.messages import solutions as texts
from flows.problems import Problem
from flows.profile import mobile_number
from flows.solutions import Match, Solution
from flows.state import Context
from storage.leads import EnterpriseLead

LEAD_FIELDS = ("solution_id", "mobile", "consent")


def solution_view(ctx: Context, solution: Solution) -> dict[str, Any]:
    iset = ctx.iset(None)
    scenes = iset.scene_by_code
    return {
        "id": solution.id, "title": solution.title, "summary": solution.summary,
        "provider": {"name": solution.provider.name, "leading": solution.provider.leading},
        "price": solution.price, "free_trial": solution.free_trial,
        "deployment": solution.deployment, "link": solution.link,
        "lifts": [{"code": code, "name": scenes[code].name if code in scenes else code,
                   "level": level, "level_name": iset.level_name(level)}
                  for code, level in solution.lifts.items()],
    }


def match_view(ctx: Context, found: Match) -> dict[str, Any]:
    return {**solution_view(ctx, found.solution), "why": texts.reason(ctx, found)}


def no_match_message(ctx: Context) -> str:
    return ctx.tr.gettext("No solution of the province's pool fits your enterprise yet; look "
                          "again after your next assessment or later.")


@dataclass(frozen=True)
class LeadRequest:
    solution_id: int
    mobile: str


def _problem(code: str, message: str, field: str) -> Problem:
    return Problem(code, message, field, {"field": field})


def parse_lead_request(body: Mapping[str, Any]) -> LeadRequest | list[Problem]:
    """`{"solution_id": 12, "mobile": "13800138000", "consent": true}`: consent must be the
    JSON `true` (the person agreed that this provider may call them on that mobile)."""
    problems = [_problem("unknown_field", N_("{field}: there is no such field"), name)
                for name in sorted(set(body) - set(LEAD_FIELDS))]
    solution_id = body.get("solution_id")
    if (isinstance(solution_id, bool) or not isinstance(solution_id, int)
            or not 1 <= solution_id <= MAX_ID):
        problems.append(_problem("solution_id", N_(
            "solution_id: the id of a solution from the list"), "solution_id"))
    raw_mobile = body.get("mobile")
    mobile = mobile_number(raw_mobile) if isinstance(raw_mobile, str) else None
    if mobile is None:
        problems.append(_problem("mobile", N_(
            "mobile: a mainland mobile number of 11 digits, such as 13800138000"), "mobile"))
    if body.get("consent") is not True:
        problems.append(_problem("consent", N_(
            "consent: true, to agree that the provider may call you on this mobile about this "
            "solution"), "consent"))
    if problems:
        return problems
    assert isinstance(solution_id, int) and mobile is not None
    return LeadRequest(solution_id, mobile)


def lead_view(ctx: Context, lead: EnterpriseLead) -> dict[str, Any]:
    status = as_lead_status(lead.status)
    return {"id": lead.id, "solution_id": lead.solution_id, "title": lead.title,
            "provider": lead.provider, "contact_name": lead.contact_name,
            "status": lead.status,
            "status_title": ctx.tr.gettext(STATUS_TITLES[status]) if status else lead.status,
            "closed_reason": lead.closed_reason, "created_at": lead.created_at.isoformat(),
            "updated_at": lead.updated_at.isoformat()}
