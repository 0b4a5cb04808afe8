"""What goes into the conversation and what comes out of it, as plain values.

`Inbound` carries one thing a person did (a `Message`); the machine (`flows.conversation`)
answers with an `Outcome`: the new state, the reply and perhaps a `Request` the shell carries
out; the shell feeds back what happened as a `Completion`. Everything here is frozen data with
no behaviour, so that the machine and the shell can both `match` on it exhaustively: a new
message, request or completion that nobody handles fails the type check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypeAlias

from flows.answers import Answer
from flows.commissioners import AreaProgress, NudgeReport, RosterPage
from flows.notices import NoticeItem
from flows.scoring import Assessment
from flows.solutions import Match
from flows.state import PastResult, State
from flows.statuses import Status

# --- in: what the person did ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class MenuClick:
    key: str  # the custom menu's click key


@dataclass(frozen=True, slots=True)
class Followed:
    """Subscribed to the Official Account."""


@dataclass(frozen=True, slots=True)
class Unfollowed:
    """Unsubscribed."""


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """An event that needs no answer: a menu link opened, a scan, a location report…"""

    event: str


@dataclass(frozen=True, slots=True)
class NotText:
    """A picture, voice message, location… which the questionnaire cannot read."""

    msg_type: str


Message: TypeAlias = Text | MenuClick | Followed | Unfollowed | OtherEvent | NotText


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message with what the shell knows around it. `now` is epoch seconds; `new_id` names
    a draft if one starts."""

    message: Message
    now: int
    new_id: str = ""
    commissioner: bool = False  # the shell knows this person as a bound digital commissioner


# --- out: what the shell is asked to do ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LookupArchive:
    credit_code: str


@dataclass(frozen=True, slots=True)
class Submit:
    draft_id: str
    set_id: str
    profile: Mapping[str, Any]
    answers: Mapping[str, Answer]
    figures: Mapping[str, Decimal]
    started_at: int
    submitted_at: int
    assessment: Assessment
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class LoadResults:
    pass


@dataclass(frozen=True, slots=True)
class SetSubscription:
    subscribed: bool


@dataclass(frozen=True, slots=True)
class SetNoticeOptOut:
    """退订通知 (True) / 订阅通知 (False): training and event notices for this person."""

    opted_out: bool


@dataclass(frozen=True, slots=True)
class ListNotices:
    """通知: the trainings and events ahead that concern this person."""


@dataclass(frozen=True, slots=True)
class SignUpFor:
    notice_id: int


@dataclass(frozen=True, slots=True)
class WithdrawFrom:
    notice_id: int


@dataclass(frozen=True, slots=True)
class BindCode:
    """绑定 CODE: link this WeChat to what the one-time code was issued for: a commissioner,
    or a provider of the solution pool (its contact, told of new leads)."""

    code: str


@dataclass(frozen=True, slots=True)
class OpenConsole:
    """后台: a one-time link that signs this commissioner in to the web console."""


@dataclass(frozen=True, slots=True)
class LoadScopeProgress:
    """A commissioner's 进度: their area at a glance (the shell looks the area up itself)."""


@dataclass(frozen=True, slots=True)
class LoadRoster:
    status: Status
    offset: int = 0


@dataclass(frozen=True, slots=True)
class NudgeEnterprises:
    """催办: prompt the people of every unfinished enterprise in the commissioner's area, or of
    the one with `credit_code` (checked: a valid code)."""

    credit_code: str | None = None


@dataclass(frozen=True, slots=True)
class LoadMatches:
    """方案: the solutions of the pool that fit the person's latest result (the shell looks the
    result and the enterprise up itself)."""


@dataclass(frozen=True, slots=True)
class ShowSolution:
    solution_id: int


@dataclass(frozen=True, slots=True)
class CreateLead:
    """The person agreed that the provider of `solution_id` calls them on `mobile` (checked)."""

    solution_id: int
    mobile: str


Request: TypeAlias = (LookupArchive | Submit | LoadResults | SetSubscription | SetNoticeOptOut
                      | ListNotices | SignUpFor | WithdrawFrom | BindCode
                      | LoadScopeProgress | LoadRoster | NudgeEnterprises | LoadMatches
                      | OpenConsole
                      | ShowSolution | CreateLead)


# --- back in: what came of a request ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArchiveFound:
    profile: Mapping[str, Any] | None  # None: no archive for that credit code


@dataclass(frozen=True, slots=True)
class Submitted:
    results: tuple[PastResult, ...]  # newest first: this submission, then the previous ones
    matches: tuple[Match, ...] = ()  # the best solutions for it (`flows.solutions.match`)


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """The shell could not carry the request out (database down…); nothing was changed."""

    request: Request


@dataclass(frozen=True, slots=True)
class ResultsLoaded:
    results: tuple[PastResult, ...]  # newest first
    matches: tuple[Match, ...] = ()  # the best solutions for the newest


@dataclass(frozen=True, slots=True)
class SubscriptionSet:
    subscribed: bool


@dataclass(frozen=True, slots=True)
class NoticeOptOutSet:
    opted_out: bool


@dataclass(frozen=True, slots=True)
class NoticesListed:
    items: tuple[NoticeItem, ...]  # soonest first


@dataclass(frozen=True, slots=True)
class SignUpDone:
    """What 报名 N came to; `notice` is None when there is no such notice for this person."""

    notice: NoticeItem | None
    outcome: Literal["registered", "waitlisted", "closed", "not_found"]
    position: int | None = None
    already: bool = False


@dataclass(frozen=True, slots=True)
class WithdrawDone:
    notice_id: int
    notice: NoticeItem | None  # None: no such notice for this person
    withdrawn: bool  # False: there was no sign-up to withdraw


@dataclass(frozen=True, slots=True)
class CommissionerBound:
    name: str
    area: str  # the cities and counties, as one text


@dataclass(frozen=True, slots=True)
class ProviderContactBound:
    """This person is now the provider's WeChat contact: new leads reach them here."""

    provider: str  # its name


@dataclass(frozen=True, slots=True)
class BindRefused:
    # no such code (mistyped, used, replaced) / issued but run out / too many tries
    reason: Literal["invalid", "expired", "too_many"]


@dataclass(frozen=True, slots=True)
class ConsoleLink:
    url: str
    minutes: int  # how long it works (once)


@dataclass(frozen=True, slots=True)
class NotCommissioner:
    """A commissioner's command from someone who is not (or no longer) one."""


@dataclass(frozen=True, slots=True)
class MatchesListed:
    matches: tuple[Match, ...]  # best first
    submitted: bool  # False: the person has no result yet, so nothing can be matched


@dataclass(frozen=True, slots=True)
class SolutionShown:
    solution_id: int
    match: Match | None  # None: no longer offered to this enterprise (retired, or not fitting)


@dataclass(frozen=True, slots=True)
class LeadCreated:
    title: str
    provider: str
    contact_name: str | None  # who will call
    already: bool  # the enterprise has an open lead for this solution: that one stands


@dataclass(frozen=True, slots=True)
class LeadRefused:
    reason: Literal["gone", "no_result"]  # solution retired or unknown / nothing submitted


Completion: TypeAlias = (ArchiveFound | Submitted | RequestFailed | ResultsLoaded
                         | SubscriptionSet | NoticeOptOutSet | NoticesListed | SignUpDone
                         | WithdrawDone | CommissionerBound | ProviderContactBound
                         | BindRefused | AreaProgress | RosterPage | NudgeReport | NotCommissioner
                         | MatchesListed | SolutionShown | LeadCreated | LeadRefused
                         | ConsoleLink)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The next state, the reply (None: no reply) and what the shell must do first, if
    anything; the shell then calls `resume` with the request's completion."""

    state: State
    reply: str | None
    request: Request | None = None
