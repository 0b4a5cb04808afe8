"""供需对接 leads and the projects they become (一项一档), as rules: how a lead's status moves,
what a change sent by a commissioner or the province must hold, and what a project changed
between the enterprise's assessment before it and the re-assessment after it. Pure; the
admin API checks with these, `storage.lead_desk` keeps the outcome.

A lead moves forward only: new (待联系) → contacted (已联系) → trial (试用中) → project (已立项)
→ closed (已关闭, with a reason), skipping steps allowed (a provider may start a project without
a trial), never back. A closed lead stays closed; the enterprise asks again with 对接, which
opens a new lead. Every change names the lead's version it was made on, so of two people
editing one lead the later finds it changed (409) rather than overwriting the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal, TypeAlias, get_args

from flows.i18n import N_
from flows.problems import Problem

LeadStatus: TypeAlias = Literal["new", "contacted", "trial", "project", "closed"]
LEAD_STATUSES: tuple[LeadStatus, ...] = get_args(LeadStatus)
OPEN_STATUSES: tuple[LeadStatus, ...] = ("new", "contacted", "trial", "project")
STATUS_TITLES: Mapping[LeadStatus, str] = {
    "new": N_("lead status: new"),
    "contacted": N_("lead status: contacted"),
    "trial": N_("lead status: trial"),
    "project": N_("lead status: project"),
    "closed": N_("lead status: closed"),
}
REASON_MAX = 200
INVESTMENT_MAX = Decimal("1000000")  # 万元: 100 亿 is beyond any SME retrofit
EARLIEST = date(2020, 1, 1)  # before the programme; a date earlier is a typing error
LATEST = date(2100, 12, 31)
LEAD_FIELDS = ("version", "status", "reason", "project")
PROJECT_FIELDS = ("scenes", "planned_start", "planned_end", "actual_start", "actual_end",
                  "investment")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_INVESTMENT = re.compile(r"[0-9]{1,7}(?:\.[0-9]{1,2})?")


def as_lead_status(value: object) -> LeadStatus | None:
    for status in LEAD_STATUSES:
        if value == status:
            return status
    return None


def can_move(current: LeadStatus, to: LeadStatus) -> bool:
    """Forward only; closed is the end."""
    return LEAD_STATUSES.index(to) > LEAD_STATUSES.index(current)


@dataclass(frozen=True, slots=True)
class ProjectPlan:
    """What a project records (一项一档): the scenes it targets, the planned and actual dates,
    the investment in 万元 (None: not known yet)."""

    scenes: tuple[str, ...]
    planned_start: date
    planned_end: date
    actual_start: date | None = None
    actual_end: date | None = None
    investment: Decimal | None = None

    def as_data(self) -> dict[str, Any]:
        def day(value: date | None) -> str | None:
            return value.isoformat() if value else None

        return {"scenes": list(self.scenes), "planned_start": day(self.planned_start),
                "planned_end": day(self.planned_end), "actual_start": day(self.actual_start),
                "actual_end": day(self.actual_end),
                "investment": None if self.investment is None else f"{self.investment:.2f}"}


@dataclass(frozen=True, slots=True)
class LeadChange:
    """A checked change of a lead: to `status` (None: the status stays), on `version`."""

    version: int
    status: LeadStatus | None = None
    reason: str | None = None  # when closing
    project: ProjectPlan | None = None  # when it becomes a project


def _problem(code: str, message: str, subject: str, **params: Any) -> Problem:
    return Problem(code, message, subject, {"field": subject, **params})


def _unknown(raw: Mapping[str, Any], known: Iterable[str], prefix: str = "") -> list[Problem]:
    return [_problem("unknown_field", N_("{field}: there is no such field"), prefix + name)
            for name in sorted(set(raw) - set(known))]


def parse_version(value: Any) -> int | Problem:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return _problem("version", N_("version: the version of the record you changed, as "
                                      "it was shown (a whole number)"), "version")
    return int(value)


def parse_lead_change(raw: Mapping[str, Any], current: LeadStatus, *, scenes: Sequence[str],
                      default_scenes: Sequence[str], today: date) -> LeadChange | list[Problem]:
    """A change of a lead whose status is `current`: `version` always; `status` forward only;
    `reason` (required, only) when closing; `project` (required, only) when it becomes a
    project, its `scenes` among `scenes` and by default `default_scenes` (what the solution
    lifts)."""
    problems = _unknown(raw, LEAD_FIELDS)
    version = parse_version(raw.get("version"))
    if isinstance(version, Problem):
        problems.append(version)
    status: LeadStatus | None = None
    if "status" in raw:
        status = as_lead_status(raw["status"])
        if status is None:
            problems.append(_problem("status", N_("status: one of {allowed}"), "status",
                                     allowed=", ".join(LEAD_STATUSES)))
        elif status != current and not can_move(current, status):
            problems.append(_problem(
                "status_move", N_("status: a lead that is {current} cannot become {status}; "
                                  "it moves forward only"), "status", current=current,
                status=status))
            status = None
        elif status == current:
            status = None  # nothing to move
    reason: str | None = None
    if status == "closed":
        text = raw.get("reason")
        if not isinstance(text, str) or not " ".join(text.split()):
            problems.append(_problem("required", N_("reason: required when closing a lead"),
                                     "reason"))
        elif len(" ".join(text.split())) > REASON_MAX:
            problems.append(_problem("too_long", N_("{field}: at most {limit} characters"),
                                     "reason", limit=REASON_MAX))
        else:
            reason = " ".join(text.split())
    elif "reason" in raw:
        problems.append(_problem("not_closing", N_("reason: given only when closing a lead"),
                                 "reason"))
    plan: ProjectPlan | None = None
    if status == "project":
        given = raw.get("project")
        if not isinstance(given, Mapping):
            problems.append(_problem(
                "required", N_("project: required when a lead becomes a project (an object "
                               "with scenes, planned_start, planned_end, …)"), "project"))
        else:
            checked = parse_project(given, scenes=scenes, default_scenes=default_scenes,
                                    today=today)
            if isinstance(checked, ProjectPlan):
                plan = checked
            else:
                problems += checked
    elif "project" in raw:
        problems.append(_problem("not_project", N_(
            "project: given only when a lead becomes a project"), "project"))
    if problems:
        return problems
    assert isinstance(version, int)
    return LeadChange(version, status, reason, plan)


def parse_project(raw: Mapping[str, Any], *, scenes: Sequence[str],
                  default_scenes: Sequence[str], today: date,
                  current: ProjectPlan | None = None) -> ProjectPlan | list[Problem]:
    """A project's fields: a new one (`current` None: planned dates required) or changes of
    `current` (only what is given changes; null clears an actual date or the investment)."""
    prefix = "project." if current is None else ""
    known = PROJECT_FIELDS if current is None else (*PROJECT_FIELDS, "version")
    problems = _unknown(raw, known, prefix)
    values: dict[str, Any] = {}
    if "scenes" in raw:
        checked_scenes = _scenes(raw["scenes"], scenes, prefix)
        if isinstance(checked_scenes, Problem):
            problems.append(checked_scenes)
        else:
            values["scenes"] = checked_scenes
    elif current is None:
        values["scenes"] = tuple(s for s in scenes if s in default_scenes)
    for name in ("planned_start", "planned_end", "actual_start", "actual_end"):
        if name not in raw:
            if current is None and name.startswith("planned"):
                problems.append(_problem("required", N_("{field}: required (YYYY-MM-DD)"),
                                         prefix + name))
            continue
        value = raw[name]
        if value is None and name.startswith("actual"):
            values[name] = None
            continue
        day = _date(value, prefix + name)
        if isinstance(day, Problem):
            problems.append(day)
        elif name.startswith("actual") and day > today:
            problems.append(_problem("future", N_("{field}: cannot be after today ({today})"),
                                     prefix + name, today=today.isoformat()))
        else:
            values[name] = day
    if "investment" in raw:
        amount = _investment(raw["investment"], prefix + "investment")
        if isinstance(amount, Problem):
            problems.append(amount)
        else:
            values["investment"] = amount
    if problems:
        return problems
    if current is None:
        plan = ProjectPlan(**values)
    else:
        plan = ProjectPlan(**{**{name: getattr(current, name) for name in PROJECT_FIELDS},
                              **values})
    if not plan.scenes:
        problems.append(_problem("required", N_("{field}: at least one scene"),
                                 prefix + "scenes"))
    for start, end in (("planned_start", "planned_end"), ("actual_start", "actual_end")):
        first, last = getattr(plan, start), getattr(plan, end)
        if first and last and last < first:
            problems.append(_problem("order", N_("{field}: cannot be before {start}"),
                                     prefix + end, start=start))
    if plan.actual_end and not plan.actual_start:
        problems.append(_problem("order", N_("{field}: give actual_start too"),
                                 prefix + "actual_end"))
    return problems or plan


def _scenes(value: Any, scenes: Sequence[str], prefix: str) -> tuple[str, ...] | Problem:
    subject = prefix + "scenes"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return _problem("scenes", N_("{field}: a list of scene codes such as S06"), subject)
    given = {v.strip().upper() for v in value}
    unknown = sorted(given - set(scenes))
    if unknown:
        return _problem("scene", N_("{field}: {value} is not a scene of the indicator set"),
                        subject, value=", ".join(unknown))
    return tuple(s for s in scenes if s in given)


def _date(value: Any, subject: str) -> date | Problem:
    found = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    try:
        day = date(*(int(part) for part in found.groups())) if found else None
    except ValueError:
        day = None
    if day is None:
        return _problem("date", N_("{field}: a date such as 2026-03-31"), subject)
    if not EARLIEST <= day <= LATEST:
        return _problem("date_range", N_("{field}: between {earliest} and {latest}"), subject,
                        earliest=EARLIEST.isoformat(), latest=LATEST.isoformat())
    return day


def _investment(value: Any, subject: str) -> Decimal | None | Problem:
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    # A JSON float is refused: 12.1 as a binary fraction is not the 12.10 万元 typed.
    if text is None or not _INVESTMENT.fullmatch(text):
        return _problem("investment", N_("{field}: 万元 with at most two decimals, as text "
                                         "(\"12.50\") or a whole number"), subject)
    amount = Decimal(text)  # the pattern admits digits and one point only
    if amount > INVESTMENT_MAX:
        return _problem("too_large", N_("{field}: at most {limit} 万元"), subject,
                        limit=INVESTMENT_MAX)
    return amount.quantize(Decimal("0.01"))


# --- what a project changed ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assessed:
    """What a submission says, as far as a project's outcome goes."""

    submission_id: int
    level: int
    scene_levels: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class SceneChange:
    code: str
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class ProjectOutcome:
    before: Assessed
    after: Assessed | None  # None: not re-assessed since the project ended
    scene_changes: tuple[SceneChange, ...] = field(default=())

    @property
    def moved_up(self) -> bool:
        return self.after is not None and self.after.level > self.before.level


def outcome(before: Assessed, after: Assessed | None, scenes: Sequence[str]) -> ProjectOutcome:
    """The level and the scene levels that changed between `before` and `after`, scenes in
    the indicator set's order."""
    if after is None:
        return ProjectOutcome(before, None)
    changes = tuple(
        SceneChange(code, int(before.scene_levels.get(code, 0)),
                    int(after.scene_levels.get(code, 0)))
        for code in scenes
        if int(before.scene_levels.get(code, 0)) != int(after.scene_levels.get(code, 0)))
    return ProjectOutcome(before, after, changes)
