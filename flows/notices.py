"""Training and event notices: what an admin may create, whom it concerns, and through which
channel WeChat lets it reach each person. Pure: the shell brings the facts and the time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias

from flows.i18n import N_
from flows.problems import Problem
from flows.profile import ProfileReference, parse_credit_code
from flows.statuses import STATUSES, Status, as_status

Kind: TypeAlias = Literal["training", "event", "policy"]
KINDS: tuple[Kind, ...] = ("training", "event", "policy")
CUSTOM_WINDOW_SECONDS = 48 * 3600  # WeChat: customer-service messages within 48 h of contact
TITLE_MAX, BODY_MAX, PLACE_MAX, LINK_MAX = 60, 1000, 120, 500
MAX_LIST = 500  # entries per audience filter (credit codes may be long lists)


@dataclass(frozen=True, slots=True)
class Audience:
    """Whom a notice concerns; an empty filter does not narrow. All filters must match."""

    cities: tuple[str, ...] = ()
    counties: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()  # GB/T 4754 section codes
    level_min: int | None = None  # latest preliminary level, inclusive
    level_max: int | None = None
    statuses: tuple[Status, ...] = ()
    credit_codes: tuple[str, ...] = ()

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Audience:
        """The inverse of `as_data`, for filters stored after `parse_audience` checked them."""
        def items(name: str) -> tuple[Any, ...]:
            return tuple(data.get(name) or ())
        return cls(cities=items("cities"), counties=items("counties"),
                   industries=items("industries"), level_min=data.get("level_min"),
                   level_max=data.get("level_max"), statuses=items("statuses"),
                   credit_codes=items("credit_codes"))

    def as_data(self) -> dict[str, Any]:
        return {"cities": list(self.cities), "counties": list(self.counties),
                "industries": list(self.industries), "level_min": self.level_min,
                "level_max": self.level_max, "statuses": list(self.statuses),
                "credit_codes": list(self.credit_codes)}


@dataclass(frozen=True, slots=True)
class NoticeSpec:
    kind: Kind
    title: str
    body: str
    starts_at: datetime
    ends_at: datetime | None = None
    place: str | None = None
    link: str | None = None
    signup_deadline: datetime | None = None
    capacity: int | None = None
    audience: Audience = field(default_factory=Audience)


def _problem(code: str, message: str, subject: str | None, **params: Any) -> Problem:
    return Problem(code, message, subject, params)


def _text(raw: Mapping[str, Any], name: str, limit: int, problems: list[Problem], *,
          required: bool) -> str | None:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            problems.append(_problem("required", N_("{field}: required"), name, field=name))
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        problems.append(_problem("text", N_("{field}: text of 1 to {max} characters"), name,
                                 field=name, max=limit))
        return None
    return value.strip()


def _time(raw: Mapping[str, Any], name: str, problems: list[Problem], *,
          required: bool) -> datetime | None:
    value = raw.get(name)
    if value is None:
        if required:
            problems.append(_problem("required", N_("{field}: required"), name, field=name))
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        problems.append(_problem("time", N_("{field}: a date and time with its offset, such as "
                                            "2026-12-01T09:00:00+08:00"), name, field=name))
        return None
    return parsed


def _strings(raw: Mapping[str, Any], name: str, problems: list[Problem]) -> tuple[str, ...]:
    value = raw.get(name, [])
    if not isinstance(value, list) or len(value) > MAX_LIST or not all(
            isinstance(v, str) and v.strip() for v in value):
        problems.append(_problem("list", N_("{field}: a list of up to {max} texts"), name,
                                 field=name, max=MAX_LIST))
        return ()
    return tuple(dict.fromkeys(v.strip() for v in value))


def parse_audience(raw: Any, reference: ProfileReference, *, max_level: int,
                   problems: list[Problem]) -> Audience:
    if raw is None:
        return Audience()
    if not isinstance(raw, Mapping):
        problems.append(_problem("audience", N_("audience: an object of filters"), "audience"))
        return Audience()
    for unknown in sorted(set(raw) - set(Audience.__dataclass_fields__)):
        problems.append(_problem("unknown_field", N_("{field}: there is no such field"),
                                 f"audience.{unknown}", field=f"audience.{unknown}"))
    cities = _strings(raw, "cities", problems)
    for city in cities:
        if city not in reference.cities:
            problems.append(_problem("city", N_("audience.cities: {value} is not a city of "
                                                "Shandong"), "audience.cities", value=city))
    industries = _strings(raw, "industries", problems)
    for section in industries:
        if reference.section(section) is None:
            problems.append(_problem("industry", N_("audience.industries: {value} is not an "
                                                    "industry section"),
                                     "audience.industries", value=section))
    levels: list[int | None] = []
    for name in ("level_min", "level_max"):
        value = raw.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value <= max_level):
            problems.append(_problem("level", N_("{field}: a level from 0 to {max}"),
                                     f"audience.{name}", field=f"audience.{name}",
                                     max=max_level))
            value = None
        levels.append(value)
    statuses: list[Status] = []
    for text in _strings(raw, "statuses", problems):
        status = as_status(text)
        if status is not None:
            statuses.append(status)
        else:
            problems.append(_problem("status", N_("audience.statuses: one of {allowed}"),
                                     "audience.statuses", allowed=", ".join(STATUSES)))
    codes: list[str] = []
    for text in _strings(raw, "credit_codes", problems):
        code = parse_credit_code(text)
        if isinstance(code, Problem):
            problems.append(_problem("credit_code", N_("audience.credit_codes: {value} is not "
                                                       "a valid credit code"),
                                     "audience.credit_codes", value=text))
        else:
            codes.append(code)
    level_min, level_max = levels
    if level_min is not None and level_max is not None and level_min > level_max:
        problems.append(_problem("level", N_("audience: level_min is above level_max"),
                                 "audience.level_min"))
    return Audience(cities=cities, counties=_strings(raw, "counties", problems),
                    industries=industries, level_min=level_min, level_max=level_max,
                    statuses=tuple(statuses),
                    credit_codes=tuple(codes))


def parse_notice(raw: Any, reference: ProfileReference, *,
                 max_level: int) -> NoticeSpec | list[Problem]:
    """An admin's notice (JSON-decoded), checked whole: the notice or every problem."""
    if not isinstance(raw, Mapping):
        return [_problem("invalid", N_("The notice must be a JSON object."), None)]
    problems: list[Problem] = []
    known = set(NoticeSpec.__dataclass_fields__)
    for unknown in sorted(set(raw) - known):
        problems.append(_problem("unknown_field", N_("{field}: there is no such field"), unknown,
                                 field=unknown))
    kind = raw.get("kind")
    if kind not in KINDS:
        problems.append(_problem("kind", N_("kind: one of {allowed}"), "kind",
                                 allowed=", ".join(KINDS)))
    title = _text(raw, "title", TITLE_MAX, problems, required=True)
    body = _text(raw, "body", BODY_MAX, problems, required=True)
    place = _text(raw, "place", PLACE_MAX, problems, required=False)
    link = _text(raw, "link", LINK_MAX, problems, required=False)
    if link is not None and not link.startswith(("https://", "http://")):
        problems.append(_problem("link", N_("link: an http(s) address"), "link"))
    starts_at = _time(raw, "starts_at", problems, required=True)
    ends_at = _time(raw, "ends_at", problems, required=False)
    deadline = _time(raw, "signup_deadline", problems, required=False)
    if starts_at and ends_at and ends_at < starts_at:
        problems.append(_problem("order", N_("ends_at is before starts_at"), "ends_at"))
    if starts_at and deadline and deadline > starts_at:
        problems.append(_problem("order", N_("signup_deadline is after starts_at"),
                                 "signup_deadline"))
    capacity = raw.get("capacity")
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)
                                 or not 1 <= capacity <= 100_000):
        problems.append(_problem("capacity", N_("capacity: a whole number from 1 to 100000"),
                                 "capacity"))
    audience = parse_audience(raw.get("audience"), reference, max_level=max_level,
                              problems=problems)
    if problems:
        return problems
    assert kind in KINDS and title and body and starts_at
    return NoticeSpec(kind=kind, title=title, body=body, starts_at=starts_at, ends_at=ends_at,
                      place=place, link=link, signup_deadline=deadline, capacity=capacity,
                      audience=audience)


def signup_open(*, cancelled: bool, starts_at: datetime, signup_deadline: datetime | None,
                now: datetime) -> bool:
    """Sign-up is open until its deadline, or until the start when it has none; never once the
    notice is cancelled."""
    return not cancelled and now <= (signup_deadline or starts_at)


# --- in the chat ----------------------------------------------------------------------------

SignUpState: TypeAlias = Literal["registered", "waitlisted", "cancelled"]


@dataclass(frozen=True, slots=True)
class NoticeItem:
    """A notice as the person it concerns sees it in the chat, with their sign-up."""

    id: int
    kind: Kind
    title: str
    starts_at: int  # epoch seconds
    place: str | None
    signup_open: bool  # before the deadline (or the start) and not cancelled
    signup: SignUpState | None = None  # this person's
    position: int | None = None  # on the waiting list
    full: bool = False  # every seat is taken: a new sign-up waits


# --- what the workers send ---------------------------------------------------------------------

Purpose: TypeAlias = Literal["notice", "reminder", "promoted", "cancelled", "nudge", "lead"]
"""Why a message goes out: the campaign itself, a registrant's reminder before the start, their
promotion from the waiting list, the cancellation, a nudge to finish the assessment, or a new
对接 lead told to the provider's WeChat contact."""
PURPOSES: tuple[Purpose, ...] = ("notice", "reminder", "promoted", "cancelled", "nudge",
                                 "lead")
OWN_SIGN_UP: tuple[Purpose, ...] = ("reminder", "promoted", "cancelled")
# Sent whatever the person chose with 退订通知: news of their own sign-ups, and a provider's
# leads (the contact's work, not a notice).
PAST_OPT_OUT: tuple[Purpose, ...] = (*OWN_SIGN_UP, "lead")
# Whole only as text: a customer-service message while WeChat allows one, rather than the
# template's three short fields.
WHOLE_TEXT: tuple[Purpose, ...] = ("lead",)


@dataclass(frozen=True, slots=True)
class LeadNotice:
    """What a provider's contact is told of a new lead, kept in the notice that records it
    (kind `lead`): who asks (the enterprise, where it is, its industry), for which solution,
    and the mobile the person gave, consenting that this provider call them. Nothing else of
    the person, never their WeChat."""

    lead_id: int
    provider_id: int
    enterprise: str
    city: str
    county: str
    industry: str  # the section, "C"
    industry_division: str | None  # within it, "13"
    solution: str
    mobile: str

    def as_data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> LeadNotice:
        return cls(lead_id=int(data["lead_id"]), provider_id=int(data["provider_id"]),
                   enterprise=str(data["enterprise"]), city=str(data["city"]),
                   county=str(data["county"]), industry=str(data["industry"]),
                   industry_division=data.get("industry_division"),
                   solution=str(data["solution"]), mobile=str(data["mobile"]))


@dataclass(frozen=True, slots=True)
class NoticeMessage:
    """What a message about a notice is made of. For a nudge, `title` and `body` hold who
    nudged (name and area; both empty for the automatic reminder of an idle draft); for a lead,
    `lead` holds it and `industry` names the enterprise's industry."""

    id: int
    title: str
    body: str
    starts_at: datetime
    place: str | None
    link: str | None
    signup_open: bool
    lead: LeadNotice | None = None
    industry: str = ""


# --- channels --------------------------------------------------------------------------------

Channel: TypeAlias = Literal["template", "subscribe", "custom"]


@dataclass(frozen=True, slots=True)
class Recipient:
    """What decides how a notice may reach one channel person."""

    person_id: str
    channel: Literal["oa", "mp"]
    subscribed: bool  # follows the Official Account (oa only)
    opted_out: bool  # replied 退订通知
    last_message_at: int | None  # epoch seconds of their last message to the account
    consents: int = 0  # unused subscribe-message consents for the notice's template (mp)


@dataclass(frozen=True, slots=True)
class Skip:
    reason: Literal["opted_out", "unsubscribed", "no_consent", "no_template"]


def choose_channel(recipient: Recipient, now: int, *, template_configured: bool,
                   own_reminder: bool = False, whole_text: bool = False) -> Channel | Skip:
    """The channel WeChat permits for this person now, or why there is none.

    Official Account: a template message where a template is configured (the channel meant for
    notices), else a customer-service message within 48 h of the person's last message; a
    message that is whole only as text (`whole_text`: a lead) takes the customer-service
    message while the window is open, and the template after. Mini-program: a subscribe
    message, only while an accepted consent is unused. A person who opted out gets nothing but
    what passes an opt-out (`own_reminder`: their own sign-ups, a provider's leads).
    """
    if recipient.opted_out and not own_reminder:
        return Skip("opted_out")
    if recipient.channel == "mp":
        return "subscribe" if recipient.consents > 0 else Skip("no_consent")
    if not recipient.subscribed:
        return Skip("unsubscribed")
    last = recipient.last_message_at
    window = last is not None and now - last < CUSTOM_WINDOW_SECONDS
    if window and whole_text:
        return "custom"
    if template_configured:
        return "template"
    return "custom" if window else Skip("no_template")
