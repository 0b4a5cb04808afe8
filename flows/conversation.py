"""The questionnaire conversation as a pure state machine: (state, inbound) -> outcome.

Everything that affects where a person is in the questionnaire lives here.

Theory of operation
-------------------
A person's `State` holds at most one `Draft`: the profile answered so far, the answers and
figures, the current step and what the person still has to confirm. Steps run in a fixed order
(`steps()`): the profile (credit code, name, city, county, industry, maybe its manufacturing
division, employees), then every scored question, then every scene, then `review`.

`handle(ctx, state, inbound)` reads one thing the person did (a text, a menu click, a subscribe
event, an image…) and returns an `Outcome`: the new state, the reply text (always within WeChat's
2048-byte limit) and, when the step needs the outside world, a `Request` (look up an archive,
store a submission, load results, record a subscription). The shell performs the request and
calls `resume(ctx, state, completion)` with what happened; that returns the next outcome.
Nothing here does I/O or reads a clock: the time comes in with the inbound event, and so does
the random id of a new draft.

Input the current step cannot take is answered with one short line of what is accepted and the
step again (or what waits for 确认/取消); the state does not change. No input raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal, TypeAlias

from flows.answers import Answer, check_answers, check_question_answer, check_scene_answer
from flows.commands import MENU_KEYS, Command, Parsed, parse_command
from flows.commissioners import AreaProgress, NudgeReport, RosterPage
from flows.figures import derive, parse_figure
from flows.indicators import IndicatorSet, Question, Scene
from flows.messages import commissioners as commissioner_texts
from flows.messages import notices as notice_texts
from flows.messages import questionnaire, result, service
from flows.notices import NoticeItem
from flows.paging import paginate
from flows.problems import Problem
from flows.profile import (
    normalize,
    parse_county,
    parse_credit_code,
    parse_employees,
    parse_name,
    whole_number,
)
from flows.results import assessment_data
from flows.scoring import Assessment, assess
from flows.state import (
    PROFILE_STEPS,
    REVIEW,
    Context,
    Draft,
    PastResult,
    State,
    advance,
    first_unanswered,
    step_before,
    steps,
)

_SEPARATORS = re.compile(r"[\s,，、;；/|]+")
_CHINESE_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


# --- inbound, requests, completions, outcome ----------------------------------------------

@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing the person did. `now` is epoch seconds; `new_id` names a draft if one starts."""

    kind: Literal["text", "event", "other"]
    now: int
    new_id: str = ""
    text: str = ""
    event: str = ""  # subscribe, unsubscribe, click, …
    event_key: str = ""
    msg_type: str = ""  # image, voice, location, … (kind "other")
    commissioner: bool = False  # the shell knows this person as a bound digital commissioner


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
class BindCommissioner:
    """绑定 CODE: link this WeChat to the commissioner the code was issued for."""

    code: str


@dataclass(frozen=True, slots=True)
class LoadScopeProgress:
    """A commissioner's 进度: their area at a glance (the shell looks the area up itself)."""


@dataclass(frozen=True, slots=True)
class LoadRoster:
    status: str  # not_started | in_progress | submitted
    offset: int = 0


@dataclass(frozen=True, slots=True)
class NudgeEnterprises:
    """催办: prompt the people of every unfinished enterprise in the commissioner's area, or of
    the one with `credit_code` (checked: a valid code)."""

    credit_code: str | None = None


Request: TypeAlias = (LookupArchive | Submit | LoadResults | SetSubscription | SetNoticeOptOut
                      | ListNotices | SignUpFor | WithdrawFrom | BindCommissioner
                      | LoadScopeProgress | LoadRoster | NudgeEnterprises)


@dataclass(frozen=True, slots=True)
class ArchiveFound:
    profile: Mapping[str, Any] | None  # None: no archive for that credit code


@dataclass(frozen=True, slots=True)
class Submitted:
    results: tuple[PastResult, ...]  # newest first: this submission, then the previous ones


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """The shell could not carry the request out (database down…); nothing was changed."""

    request: Request


@dataclass(frozen=True, slots=True)
class ResultsLoaded:
    results: tuple[PastResult, ...]  # newest first


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
class BindRefused:
    reason: Literal["invalid", "too_many"]  # no such unexpired code / too many tries


@dataclass(frozen=True, slots=True)
class NotCommissioner:
    """A commissioner's command from someone who is not (or no longer) one."""


Completion: TypeAlias = (ArchiveFound | Submitted | RequestFailed | ResultsLoaded
                         | SubscriptionSet | NoticeOptOutSet | NoticesListed | SignUpDone
                         | WithdrawDone | CommissionerBound | BindRefused
                         | AreaProgress | RosterPage | NudgeReport | NotCommissioner)


@dataclass(frozen=True, slots=True)
class Outcome:
    state: State
    reply: str | None
    request: Request | None = None


# --- the machine ---------------------------------------------------------------------------

def handle(ctx: Context, state: State, inbound: Inbound) -> Outcome:
    """One inbound event -> the next state, the reply and possibly a request for the shell."""
    state = copy_state(state)
    state.last_active = inbound.now
    if inbound.kind == "event":
        return _event(ctx, state, inbound)
    if inbound.kind == "other":
        return _reply(ctx, state, service.not_text(ctx, state.draft, inbound.msg_type),
                      keep_pages=True)
    parsed = parse_command(inbound.text)
    if parsed is None or _is_option_answer(ctx, state.draft, parsed, inbound.text):
        return _answer(ctx, state, inbound)
    return _command(ctx, state, parsed, inbound)


def _is_option_answer(ctx: Context, draft: Draft | None, parsed: Parsed, text: str) -> bool:
    """确认/取消 words that are option letters (B4's N, NO, OK) answer the question when nothing
    waits for confirmation."""
    if draft is None or draft.pending is not None:
        return False
    if parsed.command not in (Command.CONFIRM, Command.CANCEL):
        return False
    question = ctx.iset(draft).question_by_code.get(draft.step)
    if question is None:
        return False
    keys = _option_keys(question, text) or []
    return bool(keys) and all(key in question.option_by_key for key in keys)


def resume(ctx: Context, state: State, completion: Completion) -> Outcome:
    """What a request's completion means for the conversation."""
    state = copy_state(state)
    draft = state.draft
    if isinstance(completion, ArchiveFound):
        assert draft is not None
        if completion.profile is None:
            return _advance(ctx, state, draft, "credit_code")
        draft.pending = {"kind": "archive", "profile": dict(completion.profile)}
        return _reply(ctx, state, questionnaire.archive_found(ctx, completion.profile))
    if isinstance(completion, Submitted):
        state.draft = None
        latest, previous = completion.results[0], next(iter(completion.results[1:]), None)
        return _reply(ctx, state, result.result(ctx, latest, previous, fresh=True))
    if isinstance(completion, RequestFailed):
        if isinstance(completion.request, Submit):
            return _reply(ctx, state, result.submit_failed(ctx))
        if isinstance(completion.request, SetSubscription):
            return resume(ctx, state, SubscriptionSet(completion.request.subscribed))
        if isinstance(completion.request, LookupArchive):  # go on; the submission upserts anyway
            return resume(ctx, state, ArchiveFound(None))
        return _reply(ctx, state, service.unavailable(ctx))
    if isinstance(completion, CommissionerBound):
        return _reply(ctx, state, commissioner_texts.commissioner_bound(ctx, completion.name,
                                                              completion.area))
    if isinstance(completion, BindRefused):
        return _reply(ctx, state, commissioner_texts.bind_refused(ctx, completion.reason))
    if isinstance(completion, AreaProgress):
        return _reply(ctx, state, commissioner_texts.scope_progress(ctx, completion))
    if isinstance(completion, RosterPage):
        outcome = _reply(ctx, state, commissioner_texts.roster(ctx, completion))
        following = completion.next_offset
        # 下一页 after the last page of this part loads the next part.
        state.roster_next = None if following is None else (completion.status, following)
        return outcome
    if isinstance(completion, NudgeReport):
        return _reply(ctx, state, commissioner_texts.nudged(ctx, completion))
    if isinstance(completion, NotCommissioner):
        return _reply(ctx, state, commissioner_texts.not_commissioner(ctx))
    if isinstance(completion, NoticesListed):
        return _reply(ctx, state, notice_texts.notices_list(ctx, draft, completion.items))
    if isinstance(completion, SignUpDone):
        return _reply(ctx, state, notice_texts.signed_up(ctx, draft, completion.notice,
                                                     completion.outcome, completion.position,
                                                     already=completion.already))
    if isinstance(completion, WithdrawDone):
        return _reply(ctx, state, notice_texts.withdrawn(ctx, draft, completion.notice_id,
                                                     completion.notice,
                                                     withdrawn=completion.withdrawn))
    if isinstance(completion, NoticeOptOutSet):
        return _reply(ctx, state, notice_texts.notices_choice(ctx, state.draft,
                                                          opted_out=completion.opted_out))
    if isinstance(completion, ResultsLoaded):
        if not completion.results:
            return _reply(ctx, state, result.no_results(ctx, draft))
        latest, previous = completion.results[0], next(iter(completion.results[1:]), None)
        return _reply(ctx, state, result.result(ctx, latest, previous, fresh=False,
                                                  draft=draft))
    if completion.subscribed:
        return _reply(ctx, state, service.welcome(ctx, draft))
    return Outcome(state, None)


def copy_state(state: State) -> State:
    """A copy whose draft can be changed without touching `state`."""
    draft = state.draft
    if draft is not None:
        draft = replace(draft, profile=dict(draft.profile), answers=dict(draft.answers),
                        figures=dict(draft.figures),
                        pending=None if draft.pending is None else dict(draft.pending))
    return State(draft=draft, pages=list(state.pages), last_active=state.last_active,
                 roster_next=state.roster_next)


def _reply(ctx: Context, state: State, text: str, *, request: Request | None = None,
           keep_pages: bool = False) -> Outcome:
    pages = paginate(text, service.more_hint(ctx))
    if not keep_pages or len(pages) > 1:
        state.pages = pages[1:]
        state.roster_next = None
    return Outcome(state, pages[0], request)


def _event(ctx: Context, state: State, inbound: Inbound) -> Outcome:
    if inbound.event == "subscribe":
        return Outcome(state, None, SetSubscription(True))
    if inbound.event == "unsubscribe":
        return Outcome(state, None, SetSubscription(False))
    if inbound.event == "click":
        command = MENU_KEYS.get(inbound.event_key.lower())
        if command is not None:
            return _command(ctx, state, Parsed(command), inbound)
        return _reply(ctx, state, service.help_text(ctx, state.draft))
    return Outcome(state, None)  # view, scan, location reports… need no answer


def _command(ctx: Context, state: State, parsed: Parsed, inbound: Inbound) -> Outcome:
    draft = state.draft
    command = parsed.command
    if command is Command.MORE:
        if not state.pages and state.roster_next is not None and inbound.commissioner:
            status, offset = state.roster_next
            return Outcome(state, None, LoadRoster(status, offset))
        if not state.pages:
            return _reply(ctx, state, service.no_more(ctx, draft))
        page, state.pages = state.pages[0], state.pages[1:]
        return Outcome(state, page)
    if command is Command.HELP:
        return _reply(ctx, state, service.help_text(ctx, draft,
                                                     commissioner=inbound.commissioner))
    if command is Command.RESULT:
        return Outcome(state, None, LoadResults())
    if command in (Command.NOTICES_OFF, Command.NOTICES_ON):
        return Outcome(state, None, SetNoticeOptOut(command is Command.NOTICES_OFF))
    if command is Command.NOTICES:
        return Outcome(state, None, ListNotices())
    if command is Command.BIND:
        if not parsed.argument:
            return _reply(ctx, state, commissioner_texts.bind_how(ctx))
        return Outcome(state, None, BindCommissioner(parsed.argument))
    if command is Command.ROSTER:
        if not inbound.commissioner:
            return _reply(ctx, state, commissioner_texts.not_commissioner(ctx))
        if not parsed.argument:
            return _reply(ctx, state, commissioner_texts.roster_how(ctx))
        return Outcome(state, None, LoadRoster(parsed.argument))
    if command is Command.NUDGE:
        if not inbound.commissioner:
            return _reply(ctx, state, commissioner_texts.not_commissioner(ctx))
        if not parsed.argument:
            return Outcome(state, None, NudgeEnterprises())
        code = parse_credit_code(parsed.argument)
        if isinstance(code, Problem):
            return _reply(ctx, state, commissioner_texts.nudge_how(ctx, code.render(ctx.tr)))
        return Outcome(state, None, NudgeEnterprises(code))
    if command is Command.PROGRESS and inbound.commissioner:
        return Outcome(state, None, LoadScopeProgress())
    if command is Command.SIGN_UP:
        return Outcome(state, None, SignUpFor(int(parsed.argument)))
    if command is Command.WITHDRAW:
        return Outcome(state, None, WithdrawFrom(int(parsed.argument)))
    if command is Command.START and draft is None:
        return _start(ctx, state, inbound)
    if draft is None:
        return _reply(ctx, state, questionnaire.no_draft(ctx))
    pending = draft.pending
    if pending is not None and command in (Command.CONFIRM, Command.CANCEL):
        return _settle(ctx, state, draft, pending, confirmed=command is Command.CONFIRM,
                       inbound=inbound)
    if command in (Command.START, Command.CONTINUE):
        draft.pending = None
        return _reply(ctx, state, questionnaire.resume(ctx, draft) + "\n\n" + _prompt(ctx, draft))
    if command is Command.PROGRESS:
        return _reply(ctx, state, questionnaire.progress(ctx, draft))
    if command is Command.EXPLAIN:
        return _reply(ctx, state, questionnaire.explain(ctx, draft))
    if command is Command.RESTART:
        draft.pending = {"kind": "restart"}
        return _reply(ctx, state, questionnaire.confirm_restart(ctx, draft))
    if command is Command.PREVIOUS:
        previous = step_before(ctx, draft, draft.step)
        if previous is None:
            return _reply(ctx, state,
                          questionnaire.at_first_step(ctx) + "\n\n" + _prompt(ctx, draft))
        draft.step, draft.pending, draft.return_to = previous, None, None
        return _reply(ctx, state, _prompt(ctx, draft))
    if command is Command.EDIT:
        return _edit(ctx, state, draft, parsed.argument)
    if command is Command.SUBMIT:
        return _submit(ctx, state, draft, inbound.now)
    # confirm/cancel with nothing to confirm: say what the step expects
    return _reply(ctx, state, questionnaire.nothing_to_confirm(ctx) + "\n\n" + _prompt(ctx, draft))


def _start(ctx: Context, state: State, inbound: Inbound) -> Outcome:
    draft = Draft(id=inbound.new_id, set_id=ctx.default_set, started_at=inbound.now,
                  updated_at=inbound.now, step=PROFILE_STEPS[0])
    state.draft = draft
    return _reply(ctx, state, questionnaire.started(ctx, ctx.iset(draft)) + "\n\n"
                  + _prompt(ctx, draft))


def _prompt(ctx: Context, draft: Draft) -> str:
    return questionnaire.prompt(ctx, draft, steps(ctx.iset(draft), draft, ctx.reference))


def _edit(ctx: Context, state: State, draft: Draft, argument: str) -> Outcome:
    iset = ctx.iset(draft)
    codes = iset.codes
    code = None
    if argument.isdigit() and 1 <= int(argument) <= len(codes):
        code = codes[int(argument) - 1]
    elif argument in iset.question_by_code or argument in iset.scene_by_code:
        code = argument
    if code is None:
        return _reply(ctx, state, questionnaire.no_such_question(ctx, len(codes)) + "\n\n"
                      + _prompt(ctx, draft))
    if draft.step != code:
        draft.return_to = draft.step if draft.return_to is None else draft.return_to
    draft.step, draft.pending = code, None
    return _reply(ctx, state, _prompt(ctx, draft))


def _settle(ctx: Context, state: State, draft: Draft, pending: dict[str, Any], *,
            confirmed: bool, inbound: Inbound) -> Outcome:
    draft.pending = None
    now = inbound.now
    kind = pending["kind"]
    if kind == "restart":
        if not confirmed:
            return _reply(ctx, state, questionnaire.restart_cancelled(ctx) + "\n\n"
                          + _prompt(ctx, draft))
        state.draft = Draft(id=inbound.new_id, set_id=draft.set_id, started_at=now,
                            updated_at=now, step=PROFILE_STEPS[0])
        return _reply(ctx, state, questionnaire.restarted(ctx) + "\n\n"
                      + _prompt(ctx, state.draft))
    if kind == "archive":
        if not confirmed:
            return _advance(ctx, state, draft, "credit_code")
        profile = {key: value for key, value in pending["profile"].items()
                   if key in PROFILE_STEPS and value is not None}
        draft.profile.update(profile)
        draft.updated_at = now
        draft.step = first_unanswered(ctx, draft)
        return _reply(ctx, state, questionnaire.archive_reused(ctx) + "\n\n" + _prompt(ctx, draft))
    # kind == "figures": the option computed from the person's numbers
    if not confirmed:
        return _reply(ctx, state, questionnaire.figures_discarded(ctx) + "\n\n"
                      + _prompt(ctx, draft))
    draft.figures.update(pending["figures"])
    return _record(ctx, state, draft, pending["code"], pending["key"], now)


def _answer(ctx: Context, state: State, inbound: Inbound) -> Outcome:
    draft = state.draft
    if draft is None:
        return _reply(ctx, state, service.welcome(ctx, None))
    text = inbound.text
    # An accepted answer instead of 确认/取消 replaces what was waiting for confirmation
    # (`_record`, `_profile_answer`, `_figures_answer`); input that is not accepted leaves it.
    if draft.pending is not None and draft.pending["kind"] == "restart":
        return _reply(ctx, state, questionnaire.confirm_restart(ctx, draft))
    step = draft.step
    if step == REVIEW:
        return _reply(ctx, state, questionnaire.review_hint(ctx) + "\n\n" + _prompt(ctx, draft))
    if step in PROFILE_STEPS:
        return _profile_answer(ctx, state, draft, step, text, inbound.now)
    iset = ctx.iset(draft)
    question = iset.question_by_code.get(step)
    if question is not None:
        return _question_answer(ctx, state, draft, iset, question, text, inbound.now)
    return _scene_answer(ctx, state, draft, iset, iset.scene_by_code[step], text, inbound.now)


def _invalid(ctx: Context, state: State, draft: Draft, problem: Problem | str) -> Outcome:
    line = problem if isinstance(problem, str) else problem.render(ctx.tr)
    return _reply(ctx, state, line + "\n\n" + _asked(ctx, draft))


def _asked(ctx: Context, draft: Draft) -> str:
    """What the person is asked now: the confirmation still waiting, else the current step."""
    pending = draft.pending
    if pending is None:
        return _prompt(ctx, draft)
    if pending["kind"] == "archive":
        return questionnaire.archive_found(ctx, pending["profile"])
    if pending["kind"] == "restart":
        return questionnaire.confirm_restart(ctx, draft)
    iset = ctx.iset(draft)
    question = iset.question_by_code[pending["code"]]
    figures = {name: Decimal(value)
               for name, value in {**draft.figures, **pending["figures"]}.items()}
    derived = derive(iset, question, figures)
    assert not isinstance(derived, list), derived  # it was derived from these very figures
    return questionnaire.figures_derived(ctx, iset, question, derived, figures)


def _profile_answer(ctx: Context, state: State, draft: Draft, step: str, text: str,
                    now: int) -> Outcome:
    reference = ctx.reference
    value: Any
    if step == "credit_code":
        value = parse_credit_code(text)
    elif step == "name":
        value = parse_name(text)
    elif step == "city":
        value = reference.parse_city(text)
    elif step == "county":
        value = parse_county(text)
    elif step == "industry":
        value = reference.parse_section(text)
    elif step == "industry_division":
        value = reference.parse_division(draft.profile.get("industry", ""), text)
    else:
        value = parse_employees(text)
    if isinstance(value, Problem):
        return _invalid(ctx, state, draft, value)
    if step == "industry" and draft.profile.get("industry") != value:
        draft.profile.pop("industry_division", None)
    draft.profile[step] = value
    draft.pending = None
    draft.updated_at = now
    if step == "credit_code":
        return Outcome(state, None, LookupArchive(value))
    return _advance(ctx, state, draft, step)


def _advance(ctx: Context, state: State, draft: Draft, step: str, note: str = "") -> Outcome:
    """Move past `step` (see `advance`) and ask what comes next."""
    advance(ctx, draft, step)
    text = _prompt(ctx, draft)
    return _reply(ctx, state, f"{note}\n\n{text}" if note else text)


def _question_answer(ctx: Context, state: State, draft: Draft, iset: IndicatorSet,
                     question: Question, text: str, now: int) -> Outcome:
    keys = None if _figures_shaped(question, text) else _option_keys(question, text)
    if keys is not None:
        value: Any = keys[0] if question.type == "single" and len(keys) == 1 else keys
        accepted = check_question_answer(question, value)
        if isinstance(accepted, Problem):
            return _invalid(ctx, state, draft, accepted)
        return _record(ctx, state, draft, question.code, accepted, now)
    if question.derivation is not None and _NUMBER.search(normalize(text)):
        return _figures_answer(ctx, state, draft, iset, question, text)
    return _invalid(ctx, state, draft, questionnaire.accepted_forms(ctx, question))


def _figures_shaped(question: Question, text: str) -> bool:
    """`3/3` or `2 3` on a single-choice question with figures: numbers, not option numbers
    (which would be two options, or `3 3` read as option C)."""
    value = normalize(text)
    return (question.derivation is not None and question.type == "single"
            and not re.search(r"[A-Za-z]", value)
            and len(_NUMBER.findall(value.replace(",", ""))) >= 2)


def _option_keys(question: Question, text: str) -> list[str] | None:
    """`B`, `b`, `2`, `B C`, `BC`, `B,C`, `B、C`, `ＢＣ` -> option keys; None if not that shape."""
    value = normalize(text).upper()
    if not value:
        return None
    keys = question.option_by_key
    tokens = [t for t in _SEPARATORS.split(value) if t]
    keys_found: list[str] = []
    for token in tokens:
        number = whole_number(token)
        if number is not None:
            if not 1 <= number <= len(question.options):
                return None
            keys_found.append(question.options[number - 1].key)
        elif token.isascii() and token.isalpha():
            if len(token) > 1 and not all(c in keys for c in token):
                return None  # a word, not a run of option letters
            keys_found.extend(token)
        else:
            return None
    return list(dict.fromkeys(keys_found))  # "B B" means B


def _record(ctx: Context, state: State, draft: Draft, code: str, answer: Answer,
            now: int) -> Outcome:
    draft.answers[code] = list(answer) if isinstance(answer, tuple) else answer
    draft.updated_at = now
    draft.pending = None
    return _advance(ctx, state, draft, code)


def _scene_answer(ctx: Context, state: State, draft: Draft, iset: IndicatorSet, scene: Scene,
                  text: str, now: int) -> Outcome:
    value = normalize(text).removesuffix("级")
    level: Any = _CHINESE_DIGITS.get(value, whole_number(value))
    if level is None:
        return _invalid(ctx, state, draft, questionnaire.scene_forms(ctx, iset))
    accepted = check_scene_answer(iset, scene, level)
    if isinstance(accepted, Problem):
        return _invalid(ctx, state, draft, accepted)
    return _record(ctx, state, draft, scene.code, accepted, now)


def _figures_answer(ctx: Context, state: State, draft: Draft, iset: IndicatorSet,
                    question: Question, text: str) -> Outcome:
    """Numbers instead of an option: fill the figures still unknown, derive, ask to confirm."""
    rule = question.derivation
    assert rule is not None
    numbers = _NUMBER.findall(normalize(text).replace(",", ""))
    known = {name: Decimal(value) for name, value in draft.figures.items()}
    wanted = list(rule.inputs)
    if len(numbers) != len(wanted):
        unknown = [name for name in wanted if name not in known]
        if len(numbers) != len(unknown) or not unknown:
            return _invalid(ctx, state, draft, questionnaire.figures_hint(ctx, iset, question,
                                                                     draft.figures))
        wanted = unknown
    given: dict[str, Decimal] = {}
    for name, raw in zip(wanted, numbers, strict=True):
        value = parse_figure(iset, name, raw)
        if isinstance(value, Problem):
            return _invalid(ctx, state, draft, value)
        given[name] = value
    derived = derive(iset, question, {**known, **given})
    if isinstance(derived, list):
        return _invalid(ctx, state, draft, derived[0])
    draft.pending = {"kind": "figures", "code": question.code, "key": derived.key,
                     "figures": {name: format(value, "f") for name, value in given.items()}}
    return _reply(ctx, state, questionnaire.figures_derived(ctx, iset, question, derived,
                                                       {**known, **given}))


def _submit(ctx: Context, state: State, draft: Draft, now: int) -> Outcome:
    draft.pending = None  # 提交 answers no confirmation; a waiting one must not follow elsewhere
    iset = ctx.iset(draft)
    missing_profile = [s for s in steps(iset, draft, ctx.reference)
                       if s in PROFILE_STEPS and s not in draft.profile]
    _answers, _figures, problems = check_answers(iset, draft.answers)
    if missing_profile or problems or draft.step != REVIEW:
        gap = first_unanswered(ctx, draft)
        if gap == REVIEW:  # everything answered, but not reviewed yet
            draft.step, draft.return_to = REVIEW, None
            return _reply(ctx, state, _prompt(ctx, draft))
        draft.step, draft.return_to = gap, None
        return _reply(ctx, state, questionnaire.not_complete(ctx, draft, iset) + "\n\n"
                      + _prompt(ctx, draft))
    return Outcome(state, None, submit_request(ctx, draft, now))


def submit_request(ctx: Context, draft: Draft, now: int) -> Submit:
    """The submission of a complete draft: scored, with the result data in `ctx`'s language."""
    iset = ctx.iset(draft)
    answers, _figures, problems = check_answers(iset, draft.answers)
    assert not problems, problems
    assessment = assess(iset, answers)
    stored_figures = {name: Decimal(value) for name, value in draft.figures.items()}
    data = assessment_data(iset, assessment, ctx.tr)
    return Submit(
        draft_id=draft.id, set_id=iset.id, profile=dict(draft.profile), answers=answers,
        figures=stored_figures, started_at=draft.started_at, submitted_at=now,
        assessment=assessment, data=data)
