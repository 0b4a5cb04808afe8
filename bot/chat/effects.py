"""Carries out what the pure conversation asks of the outside world, for every channel.

The chat (`bot.chat.responder`) and the mini-program API (`bot.api.miniprogram`) both submit,
look up archives, read results, sign up and reach the commissioners' desk through here, so a
submission is the same record whichever channel made it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import assert_never

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.binding import Binder
from bot.chat.commissioner_desk import CommissionerDesk
from bot.chat.matching import Matcher, enterprise_of
from bot.chat.notice_board import NoticeBoard
from bot.console.links import ConsoleLinks
from bot.report.links import ReportLinks
from bot.wechat.identity import Who
from flows.events import (
    ArchiveFound,
    BindCode,
    BindRefused,
    Completion,
    CreateLead,
    LeadCreated,
    LeadRefused,
    ListNotices,
    LoadMatches,
    LoadResults,
    LoadRoster,
    LoadScopeProgress,
    LookupArchive,
    MatchesListed,
    NotCommissioner,
    NoticeOptOutSet,
    NoticesListed,
    NudgeEnterprises,
    OpenConsole,
    Request,
    ResultsLoaded,
    SetNoticeOptOut,
    SetSubscription,
    ShowSolution,
    SignUpFor,
    SolutionShown,
    Submit,
    Submitted,
    SubscriptionSet,
    WithdrawFrom,
)
from flows.solutions import MAX_LISTED, MAX_PROPOSED, Enterprise, Match
from flows.state import PastResult
from storage import archive, leads, notices

log = logging.getLogger(__name__)


def past_result(stored: archive.StoredResult) -> PastResult:
    return PastResult(level=stored.level, level_name=stored.level_name, total=stored.total,
                      submitted_at=int(stored.submitted_at.timestamp()),
                      enterprise_name=stored.enterprise_name, data=stored.result,
                      submission_id=stored.submission_id)


def submission_record(request: Submit, who: Who) -> archive.SubmissionRecord:
    """What the archive keeps of a submission: every answer and figure, scores and level."""
    profile = request.profile
    assessment = request.assessment
    return archive.SubmissionRecord(
        draft_id=request.draft_id, person_id=who.person_id, channel=who.channel,
        subject_id=who.subject_id, indicator_set=request.set_id,
        profile=archive.Profile(
            name=profile["name"], credit_code=profile["credit_code"], city=profile["city"],
            county=profile["county"], industry=profile["industry"],
            industry_division=profile.get("industry_division"),
            employees=profile.get("employees")),
        answers={code: list(value) if isinstance(value, tuple) else value
                 for code, value in request.answers.items()},
        figures=dict(request.figures), total=assessment.total,
        dimensions=dict(assessment.dimensions), level=assessment.level,
        level_name=assessment.level_name, scene_levels=dict(assessment.scene_levels),
        result=dict(request.data),
        started_at=datetime.fromtimestamp(request.started_at, tz=UTC),
        submitted_at=datetime.fromtimestamp(request.submitted_at, tz=UTC))


class Effects:
    """Carries out the requests of `flows.events` against the archive, the solution pool, the
    notices and the commissioners' desk."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *,
                 clock: Callable[[], float], matcher: Matcher,
                 desk: CommissionerDesk | None = None, binder: Binder | None = None,
                 links: ReportLinks | None = None, console: ConsoleLinks | None = None) -> None:
        self.sessions = sessions
        self.console = console  # None: no console links on this channel
        self.links = links  # None: results carry no report link
        self.clock = clock
        self.matcher = matcher
        self.board = NoticeBoard(sessions, clock=clock)
        self.desk = desk  # None: no commissioners on this channel
        self.binder = binder  # None: no 绑定 on this channel

    async def latest(self, who: Who) -> tuple[archive.StoredResult, Enterprise] | None:
        """The person's newest result and what matching needs of its enterprise."""
        found = await archive.latest_results(self.sessions, subject_id=who.subject_id, limit=1)
        if not found:
            return None
        profile = await archive.enterprise_profile(self.sessions, found[0].credit_code)
        return (None if profile is None else (found[0], enterprise_of(profile)))

    async def open_lead(self, who: Who, solution_id: int,
                        mobile: str) -> leads.Opened | LeadRefused:
        """对接, from either channel: a lead of the enterprise of the person's latest result
        (refused without one, or when the solution is retired or unknown)."""
        latest = await self.latest(who)
        if latest is None:
            return LeadRefused("no_result")
        opened = await leads.open_lead(
            self.sessions, credit_code=latest[0].credit_code, solution_id=solution_id,
            person_id=who.person_id, channel=who.channel, mobile=mobile,
            now=datetime.fromtimestamp(self.clock(), tz=UTC))
        return LeadRefused("gone") if opened is None else opened

    async def _matches_after(self, results: tuple[archive.StoredResult, ...],
                             enterprise: Enterprise) -> tuple[Match, ...]:
        if not results:
            return ()
        return await self.matcher.after_submission(results[0].result, enterprise,
                                                   limit=MAX_PROPOSED)

    async def shown(self, results: tuple[archive.StoredResult, ...]) -> tuple[PastResult, ...]:
        """The results as the conversation shows them, the newest with a new report link. A
        link that cannot be made leaves the result without one (the result itself stands)."""
        shown = tuple(past_result(r) for r in results)
        url = None if not shown else await self.report_link(results[0].submission_id)
        if url is None:
            return shown
        return (dataclasses.replace(shown[0], report_url=url), *shown[1:])

    async def report_link(self, submission_id: int) -> str | None:
        """A new link to a result's report page; None without links, or when none could be
        made (the result is shown without one)."""
        if self.links is None:
            return None
        try:
            return await self.links.new(submission_id)
        except Exception:
            log.exception("could not make a report link for submission %s", submission_id)
            return None

    async def submit(self, request: Submit, who: Who) -> tuple[archive.StoredResult, ...]:
        """Record the submission (one transaction); the enterprise's newest results, this one
        first. Idempotent by draft id, so a retried submit never makes a second row."""
        return await archive.record_with_history(self.sessions, submission_record(request, who),
                                                 limit=2)

    async def touch(self, who: Who) -> None:
        """The person wrote just now (for the 48-hour customer-service window)."""
        await archive.touch_person(self.sessions, who.person_id, who.channel, who.openid,
                                   datetime.fromtimestamp(self.clock(), tz=UTC),
                                   unionid=who.unionid)

    async def carry_out(self, request: Request, who: Who) -> Completion:
        sessions = self.sessions
        match request:
            case LookupArchive(credit_code=code):
                profile = await archive.enterprise_profile(sessions, code)
                return ArchiveFound(None if profile is None else asdict(profile))
            case Submit():
                stored = await self.submit(request, who)
                matches = await self._matches_after(stored, enterprise_of(request.profile))
                return Submitted(await self.shown(stored), matches)
            case LoadResults():
                results = tuple(await archive.latest_results(
                    sessions, subject_id=who.subject_id, limit=2))
                profile = (None if not results else
                           await archive.enterprise_profile(sessions, results[0].credit_code))
                matches = (() if profile is None
                           else await self._matches_after(results, enterprise_of(profile)))
                return ResultsLoaded(await self.shown(results), matches)
            case LoadMatches():
                latest = await self.latest(who)
                if latest is None:
                    return MatchesListed((), submitted=False)
                result, enterprise = latest
                return MatchesListed(await self.matcher.best(result.result, enterprise,
                                                             limit=MAX_LISTED), submitted=True)
            case ShowSolution(solution_id=solution_id):
                latest = await self.latest(who)
                return SolutionShown(solution_id, None if latest is None else
                                     await self.matcher.one(solution_id, latest[0].result,
                                                            latest[1]))
            case CreateLead(solution_id=solution_id, mobile=mobile):
                opened = await self.open_lead(who, solution_id, mobile)
                if isinstance(opened, LeadRefused):
                    return opened
                return LeadCreated(opened.title, opened.provider, opened.contact_name,
                                   already=opened.already)
            case SetSubscription(subscribed=subscribed):
                await archive.set_subscribed(sessions, who.person_id, who.channel, who.openid,
                                             subscribed,
                                             datetime.fromtimestamp(self.clock(), tz=UTC),
                                             unionid=who.unionid)
                return SubscriptionSet(subscribed)
            case SetNoticeOptOut(opted_out=opted_out):
                await self.touch(who)  # the person exists from now on
                await notices.set_opt_out(sessions, who.person_id, opted_out)
                return NoticeOptOutSet(opted_out)
            case ListNotices():
                return NoticesListed(tuple(item for _n, item in
                                           await self.board.upcoming(who.person_id)))
            case SignUpFor(notice_id=notice_id):
                return await self.board.sign_up(notice_id, who.person_id)
            case WithdrawFrom(notice_id=notice_id):
                return await self.board.withdraw(notice_id, who.person_id)
            case BindCode(code=code):
                if self.binder is None:
                    return BindRefused("invalid")
                return await self.binder.bind(code, who.person_id)
            case LoadScopeProgress():
                return (NotCommissioner() if self.desk is None
                        else await self.desk.progress(who.person_id))
            case LoadRoster(status=status, offset=offset):
                return (NotCommissioner() if self.desk is None
                        else await self.desk.roster(who.person_id, status, offset))
            case NudgeEnterprises(credit_code=code):
                return (NotCommissioner() if self.desk is None
                        else await self.desk.nudge(who.person_id, code))
            case OpenConsole():
                return (NotCommissioner() if self.console is None
                        else await self.console.for_person(who.person_id))
            case _:
                assert_never(request)
