"""The mini-program's JSON API (`/api/mp/...`): the questionnaire on the same core as the chat.

Drafts live where the chat keeps them (`ConversationStore`, keyed by the person's subject), so a
person switches between the chat and the mini-program at any point. Every change names the draft
version it was made on; a stale version is refused (409) instead of overwriting what the other
channel did. Validation is `flows.draft_edits`: same rules and messages as the chat.

Errors are JSON ``{"error": {"code", "message", "field"?}}`` with a stable machine code; no
stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.api import mp_solutions
from bot.api.json_api import (
    ApiError,
    json_errors,
    json_response,
    path_id,
    problems_error,
    read_object,
)
from bot.chat.draft_progress import DraftProgress
from bot.chat.effects import Effects
from bot.chat.matching import enterprise_of
from bot.wechat.client import CodeSession, WeChatAPIError, WeChatUnavailable
from bot.wechat.identity import Who
from flows import draft_edits, submission
from flows.events import LeadRefused
from flows.indicators import IndicatorSet
from flows.messages.solutions import lead_created, reason
from flows.problems import Problem
from flows.profile import PROFILE_FIELDS, parse_credit_code
from flows.solutions import MAX_LISTED
from flows.state import Context, Draft, QuestionStep, SceneStep, State, answered_count, step_of
from storage import archive, consents, leads
from storage.conversations import ConversationStore
from storage.identities import subject_for
from storage.mp_sessions import MpSession, MpSessionStore, RateLimiter

log = logging.getLogger(__name__)

CHANNEL = "mp"
PREFIX = "/api/mp"
HISTORY_LIMIT = 100
# What wx.requestSubscribeMessage reports per template; only "accept" allows a send.
CONSENT_RESULTS = frozenset({"accept", "reject", "ban", "filter"})


CodeExchange = Callable[[str], Awaitable[CodeSession]]


class MiniProgramAPI:
    """The handlers' shared parts: the pure core, the stores and WeChat's login exchange."""

    def __init__(self, ctx: Context, store: ConversationStore, effects: Effects,
                 sessions: MpSessionStore, limiter: RateLimiter, exchange: CodeExchange | None,
                 *, clock: Callable[[], float] = time.time) -> None:
        self.ctx = ctx
        self.store = store
        self.effects = effects
        self.sessions = sessions
        self.limiter = limiter
        self.exchange = exchange
        self.clock = clock
        self.progress = DraftProgress(ctx, effects.sessions, clock=clock)

    def tr(self, message: str, **params: Any) -> str:
        return self.ctx.tr.gettext(message).format(**params)

    # --- plumbing ---

    async def authenticate(self, request: web.Request) -> MpSession:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        session = None
        if scheme.lower() == "bearer" and token.strip():
            session = await self.sessions.get(token.strip())
        if session is None:
            raise ApiError(401, "unauthorized", self.tr(
                "Log in again: the session token is missing, wrong or expired."))
        allowed, retry_after = await self.limiter.allow(session.person_id, self.clock())
        if not allowed:
            raise ApiError(429, "rate_limited", self.tr(
                "Too many requests; please wait {seconds} seconds.", seconds=retry_after),
                headers={"Retry-After": str(retry_after)})
        return session

    async def body(self, request: web.Request) -> dict[str, Any]:
        return await read_object(request, self.ctx.tr)

    def version_of(self, body: Mapping[str, Any]) -> int:
        version = body.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise ApiError(422, "invalid", self.tr(
                "version: give the draft version you last received (a whole number)."),
                field="version")
        return version

    def problems(self, problems: list[Problem]) -> ApiError:
        return problems_error(problems, self.ctx.tr)

    async def load(self, session: MpSession) -> tuple[State, int]:
        return await self.store.load(session.subject_id)

    async def save(self, session: MpSession, state: State, expected: int) -> int:
        """Save on top of `expected`, or 409 with what is there now."""
        version = await self.store.save(session.subject_id, state, expected)
        if version is None:
            raise await self.conflict(session)
        await self.progress.note(self.who(session), state.draft)
        return version

    async def conflict(self, session: MpSession) -> ApiError:
        state, version = await self.load(session)
        return ApiError(409, "stale_version", self.tr(
            "The draft was changed elsewhere (perhaps in the chat); here is the current one."),
            extra=self.draft_view(state.draft, version))

    def draft_view(self, draft: Draft | None, version: int) -> dict[str, Any]:
        if draft is None:
            return {"version": version, "draft": None}
        iset = self.ctx.iset(draft)
        return {"version": version, "draft": {
            "id": draft.id, "indicator_set": draft.set_id, "step": draft.step,
            "profile": draft.profile, "answers": draft.answers, "figures": draft.figures,
            "answered": answered_count(iset, draft),
            "total": len(iset.codes), "started_at": _iso(draft.started_at),
            "updated_at": _iso(draft.updated_at)}}

    async def at_version(self, session: MpSession, body: Mapping[str, Any], *,
                         need_draft: bool = True) -> tuple[State, int]:
        """The state the client's change applies to: 409 unless it names the current version,
        404 when a draft is needed and there is none."""
        expected = self.version_of(body)
        state, version = await self.load(session)
        if version != expected:
            raise await self.conflict(session)
        if need_draft and state.draft is None:
            raise ApiError(404, "no_draft", self.tr(
                "There is no assessment in progress: start one first."))
        return state, version

    def who(self, session: MpSession) -> Who:
        return Who(session.person_id, CHANNEL, session.openid, session.subject_id,
                   session.unionid)


def _iso(epoch: int | float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


API_KEY = web.AppKey("mp_api", MiniProgramAPI)


def _api(request: web.Request) -> MiniProgramAPI:
    return request.config_dict[API_KEY]


# --- handlers ------------------------------------------------------------------------------


async def login(request: web.Request) -> web.Response:
    api = _api(request)
    body = await api.body(request)
    code = body.get("code")
    if not isinstance(code, str) or not 1 <= len(code) <= 128:
        raise ApiError(422, "invalid", api.tr("code: give the code from wx.login()."),
                       field="code")
    if api.exchange is None:
        raise ApiError(503, "login_unavailable", api.tr(
            "Mini-program login is not configured on this server."))
    try:
        found = await api.exchange(code)
    except WeChatAPIError as error:
        if error.errcode not in (-1, 45009):  # the code itself is bad (40029, 40163…)
            raise ApiError(401, "invalid_code", api.tr(
                "WeChat did not accept the login code; call wx.login() again.")) from None
        raise ApiError(503, "wechat_unavailable", api.tr(
            "WeChat is not answering just now; please try again in a moment.")) from None
    except WeChatUnavailable:
        raise ApiError(503, "wechat_unavailable", api.tr(
            "WeChat is not answering just now; please try again in a moment.")) from None
    person = archive.person_key(CHANNEL, found.openid)
    session = MpSession(person_id=person, subject_id=subject_for(person, found.unionid),
                        openid=found.openid, unionid=found.unionid,
                        session_key=found.session_key)
    token = await api.sessions.create(session)
    await archive.touch_person(api.effects.sessions, person, CHANNEL, found.openid,
                               datetime.fromtimestamp(api.clock(), tz=UTC),
                               unionid=found.unionid)
    return json_response({"token": token, "expires_in": api.sessions.ttl,
                  "linked": found.unionid is not None})


async def questionnaire(request: web.Request) -> web.Response:
    api = _api(request)
    await api.authenticate(request)
    set_id = request.query.get("indicator_set", api.ctx.default_set)
    iset = api.ctx.sets.get(set_id)
    if iset is None:
        raise ApiError(404, "not_found", api.tr("There is no such indicator set."))
    return json_response(questionnaire_view(api.ctx, iset))


def questionnaire_view(ctx: Context, iset: IndicatorSet) -> dict[str, Any]:
    """The indicator set and the profile lists, as the mini-program draws its screens."""
    reference = ctx.reference
    return {
        "indicator_set": {"id": iset.id, "name": iset.name, "issuer": iset.issuer,
                          "max_score": iset.max_score},
        "profile": {
            "fields": list(PROFILE_FIELDS),
            "cities": list(reference.cities),
            "industries": [{"code": s.code, "name": s.name, "divisions": [
                {"code": d.code, "name": d.name} for d in reference.divisions.get(s.code, ())]}
                for s in reference.sections],
        },
        "dimensions": [{"code": d.code, "title": d.title, "max_score": d.max_score,
                        "groups": [g.title for g in d.groups]} for d in iset.dimensions],
        "questions": [{
            "code": q.code, "number": n, "type": q.type, "title": q.title,
            "description": q.description, "dimension": q.dimension, "group": q.group,
            "max_score": q.max_score,
            "options": [{"key": o.key, "text": o.text, "exclusive": o.exclusive}
                        for o in q.options],
            "figures": [{"name": f.name, "text": f.text} for f in q.figures],
        } for n, q in enumerate(iset.questions, start=1)],
        "scenes": [{
            "code": s.code, "number": len(iset.questions) + n, "name": s.name,
            "group": s.group, "constraint": s.constraint,
            "levels": [{"level": level, "text": text} for level, text in sorted(s.levels.items())],
        } for n, s in enumerate(iset.scenes, start=1)],
        "max_scene_level": iset.max_scene_level,
        "unanswered_level_text": iset.unanswered_level_text,
    }


async def enterprise(request: web.Request) -> web.Response:
    """The archived profile of a credit code, to offer it instead of typing it again (the chat
    does the same after the credit code)."""
    api = _api(request)
    await api.authenticate(request)
    code = parse_credit_code(request.match_info["credit_code"])
    if isinstance(code, Problem):
        raise api.problems([code])
    profile = await archive.enterprise_profile(api.effects.sessions, code)
    if profile is None:
        raise ApiError(404, "not_found", api.tr("This credit code has no archive yet."))
    return json_response({"profile": asdict(profile)})


async def get_draft(request: web.Request) -> web.Response:
    api = _api(request)
    session = await api.authenticate(request)
    state, version = await api.load(session)
    return json_response(api.draft_view(state.draft, version))


async def start_draft(request: web.Request) -> web.Response:
    api = _api(request)
    session = await api.authenticate(request)
    state, version = await api.at_version(session, await api.body(request), need_draft=False)
    if state.draft is not None:
        return json_response(api.draft_view(state.draft, version))
    state = draft_edits.start(api.ctx, state, now=int(api.clock()), new_id=secrets.token_hex(16))
    version = await api.save(session, state, version)
    return json_response(api.draft_view(state.draft, version), status=201)


async def _edit(request: web.Request,
                change: Callable[[MiniProgramAPI, State, dict[str, Any]], State | list[Problem]],
                ) -> web.Response:
    """Load, check the version, apply a pure edit, save on top of that version."""
    api = _api(request)
    session = await api.authenticate(request)
    body = await api.body(request)
    state, version = await api.at_version(session, body)
    changed = change(api, state, body)
    if isinstance(changed, list):
        raise api.problems(changed)
    version = await api.save(session, changed, version)
    return json_response(api.draft_view(changed.draft, version))


async def update_profile(request: web.Request) -> web.Response:
    def change(api: MiniProgramAPI, state: State, body: dict[str, Any]) -> State | list[Problem]:
        values = body.get("profile")
        if not isinstance(values, dict) or not values:
            raise ApiError(422, "invalid", api.tr(
                "profile: give an object of the fields to change."), field="profile")
        return draft_edits.update_profile(api.ctx, state, values, now=int(api.clock()))
    return await _edit(request, change)


async def answer(request: web.Request) -> web.Response:
    code = request.match_info["code"]

    def change(api: MiniProgramAPI, state: State, body: dict[str, Any]) -> State | list[Problem]:
        figures = body.get("figures")
        if figures is not None and not isinstance(figures, dict):
            raise ApiError(422, "invalid", api.tr(
                "figures: give an object of figure name to number."), field="figures")
        if "answer" not in body and not figures:
            raise ApiError(422, "invalid", api.tr("answer: give the answer, or figures."),
                           field="answer")
        return draft_edits.set_answer(api.ctx, state, code, body.get("answer"), figures,
                                      now=int(api.clock()))
    return await _edit(request, change)


async def compute_figures(request: web.Request) -> web.Response:
    api = _api(request)
    session = await api.authenticate(request)
    body = await api.body(request)
    figures = body.get("figures")
    if not isinstance(figures, dict) or not figures:
        raise ApiError(422, "invalid", api.tr(
            "figures: give an object of figure name to number."), field="figures")
    state, _version = await api.load(session)
    iset = api.ctx.iset(state.draft)
    code = request.match_info["code"]
    derived = draft_edits.compute(iset, state.draft, code, figures)
    if isinstance(derived, list):
        raise api.problems(derived)
    option = iset.question_by_code[code].option_by_key[derived.key]
    return json_response({"code": code, "answer": derived.key, "option": option.text,
                  "percent": derived.percent, "direction": derived.direction,
                  "current": derived.current, "previous": derived.previous})


async def review(request: web.Request) -> web.Response:
    api = _api(request)
    session = await api.authenticate(request)
    state, version = await api.load(session)
    draft = state.draft
    if draft is None:
        raise ApiError(404, "no_draft", api.tr(
            "There is no assessment in progress: start one first."))
    iset = api.ctx.iset(draft)
    items = []
    for n, code in enumerate(iset.codes, start=1):
        value = draft.answers.get(code)
        match step_of(iset, code):
            case QuestionStep(question=question):
                keys = value if isinstance(value, list) else [] if value is None else [value]
                texts = [question.option_by_key[k].text for k in keys
                         if k in question.option_by_key]
                items.append({"number": n, "code": code, "title": question.title,
                              "answer": value, "texts": texts})
            case SceneStep(scene=scene):
                items.append({"number": n, "code": code, "title": scene.name, "answer": value,
                              "texts": [] if value is None else [scene.levels.get(value, "")]})
            case other:  # the codes are the questions' and the scenes'
                raise AssertionError(other)
    missing = submission.missing(api.ctx, draft)
    return json_response({**api.draft_view(draft, version), "items": items,
                  "missing": [{"code": p.code, "field": p.subject,
                               "message": p.render(api.ctx.tr)} for p in missing],
                  "complete": not missing})


async def submit(request: web.Request) -> web.Response:
    api = _api(request)
    session = await api.authenticate(request)
    state, version = await api.at_version(session, await api.body(request))
    made = draft_edits.submission(api.ctx, state, now=int(api.clock()))
    if isinstance(made, list):
        raise api.problems(made)
    try:
        results = await api.effects.submit(made, api.who(session))
    except Exception:
        log.exception("submission of a mini-program draft failed")
        raise ApiError(503, "unavailable", api.tr(
            "Sorry, the submission could not be saved just now. Your answers are kept: please "
            "submit again in a moment.")) from None
    # Committed: only now the draft goes. Should the other channel have touched the draft in
    # the meantime, clear it there too unless it is a new one.
    if await api.store.save(session.subject_id, State(), version) is None:
        current, now_version = await api.load(session)
        if current.draft is not None and current.draft.id == made.draft_id:
            await api.store.save(session.subject_id, State(), now_version)
    latest, previous = results[0], next(iter(results[1:]), None)
    report_url = await api.effects.report_link(latest.submission_id)
    return json_response(result_view(latest, previous, report_url), status=201)


def result_view(latest: archive.StoredResult, previous: archive.StoredResult | None,
                report_url: str | None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": latest.submission_id, "report_url": report_url,
        "credit_code": latest.credit_code,
        "enterprise_name": latest.enterprise_name, "indicator_set": latest.indicator_set,
        "submitted_at": latest.submitted_at.isoformat(), "level": latest.level,
        "level_name": latest.level_name, "total": latest.total,
        "dimensions": latest.dimensions, "result": latest.result, "previous": None}
    if previous is not None:
        view["previous"] = {
            "id": previous.submission_id, "submitted_at": previous.submitted_at.isoformat(),
            "level": previous.level, "level_name": previous.level_name,
            "total": previous.total, "level_change": latest.level - previous.level,
            "total_change": latest.total - previous.total}
    return view


async def upcoming_notices(request: web.Request) -> web.Response:
    """Trainings and events ahead that concern this person, with their sign-up state."""
    api = _api(request)
    session = await api.authenticate(request)
    found = await api.effects.board.upcoming(session.person_id)
    return json_response({"notices": [{
        "id": n.id, "kind": n.kind, "title": n.title, "body": n.body,
        "starts_at": n.starts_at.isoformat(),
        "ends_at": None if n.ends_at is None else n.ends_at.isoformat(),
        "place": n.place, "link": n.link, "capacity": n.capacity,
        "signup_deadline": None if n.signup_deadline is None else n.signup_deadline.isoformat(),
        "signup": item.signup, "position": item.position, "signup_open": item.signup_open,
        "full": item.full} for n, item in found]})


async def sign_up(request: web.Request) -> web.Response:
    api = _api(request)
    session = await api.authenticate(request)
    notice_id = path_id(request, "id", api.tr("There is no such notice."))
    found = await api.effects.board.sign_up(notice_id, session.person_id)
    if found.outcome == "not_found":
        raise ApiError(404, "not_found", api.tr("There is no such notice."))
    if found.outcome == "closed":
        raise ApiError(409, "signup_closed", api.tr("Sign-up for this notice is closed."))
    return json_response({"signup": found.outcome, "position": found.position},
                         status=200 if found.already else 201)


async def withdraw(request: web.Request) -> web.Response:
    api = _api(request)
    session = await api.authenticate(request)
    notice_id = path_id(request, "id", api.tr("There is no such notice."))
    withdrawn = (await api.effects.board.withdraw(notice_id, session.person_id)).withdrawn
    if not withdrawn:
        raise ApiError(404, "not_found", api.tr("You have not signed up for this notice."))
    return json_response({"signup": "cancelled"})


def _summary(stored: archive.StoredResult) -> dict[str, Any]:
    return {"id": stored.submission_id, "submitted_at": stored.submitted_at.isoformat(),
            "enterprise_name": stored.enterprise_name, "credit_code": stored.credit_code,
            "level": stored.level, "level_name": stored.level_name, "total": stored.total}


async def results(request: web.Request) -> web.Response:
    api = _api(request)
    session = await api.authenticate(request)
    history = await archive.latest_results(api.effects.sessions, subject_id=session.subject_id,
                                           limit=HISTORY_LIMIT)
    return json_response({"results": [_summary(r) for r in history]})


async def _own_result(api: MiniProgramAPI, session: MpSession, raw_id: str,
                      ) -> tuple[archive.StoredResult, archive.StoredResult | None]:
    """One of the person's results and the one before it. Only the person's own history is
    visible: anything else is "not found"."""
    history = await archive.latest_results(api.effects.sessions, subject_id=session.subject_id,
                                           limit=HISTORY_LIMIT)
    for index, stored in enumerate(history):
        if str(stored.submission_id) == raw_id:
            return stored, history[index + 1] if index + 1 < len(history) else None
    raise ApiError(404, "not_found", api.tr("There is no such result."))


async def result_detail(request: web.Request) -> web.Response:
    api = _api(request)
    session = await api.authenticate(request)
    stored, previous = await _own_result(api, session, request.match_info["id"])
    report_url = await api.effects.report_link(stored.submission_id)
    return json_response(result_view(stored, previous, report_url))


async def subscriptions(request: web.Request) -> web.Response:
    api = _api(request)
    session = await api.authenticate(request)
    body = await api.body(request)
    outcome = body.get("results")
    if (not isinstance(outcome, dict) or not outcome or len(outcome) > 20
            or not all(1 <= len(k) <= 128 and isinstance(v, str) and v in CONSENT_RESULTS
                       for k, v in outcome.items())):
        raise ApiError(422, "invalid", api.tr(
            "results: give what wx.requestSubscribeMessage returned, template id to "
            "accept/reject/ban/filter."), field="results")
    accepted = [template for template, result in outcome.items() if result == "accept"]
    now = datetime.fromtimestamp(api.clock(), tz=UTC)
    if accepted:
        await consents.add_consents(api.effects.sessions, session.person_id, accepted, now)
    balances = await consents.consent_balances(api.effects.sessions, session.person_id)
    return json_response({"consents": balances})


# --- the province's solutions and 供需对接 ---------------------------------------------------




async def result_solutions(request: web.Request) -> web.Response:
    """The solutions that fit one of the person's results, ranked as the chat ranks them."""
    api = _api(request)
    session = await api.authenticate(request)
    stored, _previous = await _own_result(api, session, request.match_info["id"])
    profile = await archive.enterprise_profile(api.effects.sessions, stored.credit_code)
    matches = () if profile is None else await api.effects.matcher.best(
        stored.result, enterprise_of(profile), limit=MAX_LISTED)
    return json_response({
        "result_id": stored.submission_id,
        "solutions": [mp_solutions.match_view(api.ctx, m) for m in matches],
        "message": None if matches else mp_solutions.no_match_message(api.ctx)})


async def solution_detail(request: web.Request) -> web.Response:
    """One live solution, and why it fits the person's latest result (`fits` false when it
    does not, or there is no result yet)."""
    api = _api(request)
    session = await api.authenticate(request)
    solution_id = path_id(request, "id", api.tr("There is no such solution."))
    found = (await api.effects.matcher.pool()).solutions.get(solution_id)
    if found is None:
        raise ApiError(404, "not_found", api.tr(
            "There is no such solution, or it is no longer offered."))
    latest = await api.effects.latest(api.who(session))
    match = None if latest is None else await api.effects.matcher.one(
        solution_id, latest[0].result, latest[1])
    return json_response({**mp_solutions.solution_view(api.ctx, found),
                          "fits": match is not None,
                          "why": None if match is None else reason(api.ctx, match)})


async def create_lead(request: web.Request) -> web.Response:
    """供需对接: the provider of a solution may call the person on the mobile they give. One
    open lead per enterprise and solution: asking again (or a colleague asking) finds it."""
    api = _api(request)
    session = await api.authenticate(request)
    asked = mp_solutions.parse_lead_request(await api.body(request))
    if isinstance(asked, list):
        raise api.problems(asked)
    opened = await api.effects.open_lead(api.who(session), asked.solution_id, asked.mobile)
    if isinstance(opened, LeadRefused) and opened.reason == "no_result":
        raise ApiError(409, "no_result", api.tr(
            "Solutions are matched to your result: submit an assessment first."))
    if isinstance(opened, LeadRefused):  # unknown or retired (the database says)
        raise ApiError(404, "not_found", api.tr(
            "There is no such solution, or it is no longer offered."), field="solution_id")
    lead = await leads.enterprise_lead(api.effects.sessions, opened.lead_id)
    assert lead is not None  # just opened or found open; leads are never deleted
    return json_response({
        **mp_solutions.lead_view(api.ctx, lead), "already": opened.already,
        "message": lead_created(api.ctx, opened.title, opened.provider, opened.contact_name,
                                already=opened.already)},
        status=200 if opened.already else 201)


async def my_leads(request: web.Request) -> web.Response:
    """The leads of the person's enterprise (that of their latest result), newest first."""
    api = _api(request)
    session = await api.authenticate(request)
    history = await archive.latest_results(api.effects.sessions, subject_id=session.subject_id,
                                           limit=1)
    found = [] if not history else await leads.leads_of(
        api.effects.sessions, history[0].credit_code, limit=HISTORY_LIMIT)
    return json_response({"leads": [mp_solutions.lead_view(api.ctx, lead) for lead in found]})


def add_mp_routes(app: web.Application) -> None:
    """The API as a sub-application under `PREFIX` (its error middleware stays off the WeChat
    callback's path); `app[API_KEY]` is looked up per request (set at start-up)."""
    api = web.Application(middlewares=[json_errors])
    api.router.add_post("/login", login)
    api.router.add_get("/questionnaire", questionnaire)
    api.router.add_get("/enterprises/{credit_code}", enterprise)
    api.router.add_get("/draft", get_draft)
    api.router.add_post("/draft", start_draft)
    api.router.add_patch("/draft/profile", update_profile)
    api.router.add_put("/draft/answers/{code}", answer)
    api.router.add_post("/figures/{code}", compute_figures)
    api.router.add_get("/draft/review", review)
    api.router.add_post("/draft/submit", submit)
    api.router.add_get("/results", results)
    api.router.add_get("/results/{id}", result_detail)
    api.router.add_get("/results/{id}/solutions", result_solutions)
    api.router.add_get("/solutions/{id}", solution_detail)
    api.router.add_post("/leads", create_lead)
    api.router.add_get("/leads", my_leads)
    api.router.add_post("/subscriptions", subscriptions)
    api.router.add_get("/notices", upcoming_notices)
    api.router.add_post("/notices/{id}/signup", sign_up)
    api.router.add_delete("/notices/{id}/signup", withdraw)
    app.add_subapp(PREFIX, api)
