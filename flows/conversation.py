"""The questionnaire conversation as a pure state machine: (state, inbound) -> outcome.

Everything that affects where a person is in the questionnaire lives here; the values that go
in and out are in `flows.events`, the state and the order of steps in `flows.state`.

Theory of operation
-------------------
A person's `State` holds at most one `Draft`: the profile answered so far, the answers and
figures, the current step and what the person still has to confirm (`Pending`). Steps run in a
fixed order (`steps()`): the profile (credit code, name, city, county, industry, maybe its
manufacturing division, employees), then every scored question, then every scene, then
`review`.

`handle(ctx, state, inbound)` reads one thing the person did (a text, a menu click, a follow,
a picture…) and returns an `Outcome`: the new state, the reply text (always within WeChat's
2048-byte limit) and, when the step needs the outside world, a `Request` (look up an archive,
store a submission, load results, record a subscription…). The shell performs the request and
calls `resume(ctx, state, completion)` with what happened; that returns the next outcome.
Nothing here does I/O or reads a clock: the time comes in with the inbound event, and so does
the random id of a new draft.

Input the current step cannot take is answered with one short line of what is accepted and the
step again (or what waits for 确认/取消); the state does not change. No input raises.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, assert_never

from flows.answers import Answer, check_question_answer, check_scene_answer
from flows.commands import MENU_KEYS, Command, Parsed, parse_command
from flows.commissioners import AreaProgress, NudgeReport, RosterPage
from flows.events import (
    ArchiveFound,
    BindCode,
    BindRefused,
    CommissionerBound,
    Completion,
    ConsoleLink,
    CreateLead,
    Followed,
    Inbound,
    LeadCreated,
    LeadRefused,
    ListNotices,
    LoadMatches,
    LoadResults,
    LoadRoster,
    LoadScopeProgress,
    LookupArchive,
    MatchesListed,
    MenuClick,
    NotCommissioner,
    NoticeOptOutSet,
    NoticesListed,
    NotText,
    NudgeEnterprises,
    OpenConsole,
    OtherEvent,
    Outcome,
    ProviderContactBound,
    Request,
    RequestFailed,
    ResultsLoaded,
    SetNoticeOptOut,
    SetSubscription,
    ShowSolution,
    SignUpDone,
    SignUpFor,
    SolutionShown,
    Submit,
    Submitted,
    SubscriptionSet,
    Text,
    Unfollowed,
    WithdrawDone,
    WithdrawFrom,
)
from flows.figures import derive, parse_figure
from flows.indicators import IndicatorSet, Question, Scene
from flows.messages import commissioners as commissioner_texts
from flows.messages import notices as notice_texts
from flows.messages import questionnaire, result, service
from flows.messages import solutions as solution_texts
from flows.paging import paginate
from flows.problems import Problem
from flows.profile import PROFILE_FIELDS, mobile_number, normalize, parse_credit_code, whole_number
from flows.solutions import Match
from flows.state import (
    REVIEW,
    ConfirmArchive,
    ConfirmFigures,
    ConfirmRestart,
    Context,
    Draft,
    LeadOffer,
    Listed,
    Pending,
    ProfileStep,
    QuestionStep,
    ReviewStep,
    SceneStep,
    State,
    advance,
    copy_state,
    first_unanswered,
    new_draft,
    step_before,
    step_of,
)
from flows.statuses import as_status
from flows.submission import missing, submit_request

_SEPARATORS = re.compile(r"[\s,，、;；/|]+")
_CHINESE_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# The commands about the person's own draft (the others need none).
_DRAFT_COMMANDS = (Command.START, Command.CONTINUE, Command.PROGRESS, Command.PREVIOUS,
                   Command.EDIT, Command.RESTART, Command.EXPLAIN, Command.SUBMIT,
                   Command.CONFIRM, Command.CANCEL)


def handle(ctx: Context, state: State, inbound: Inbound) -> Outcome:
    """One inbound event -> the next state, the reply and possibly a request for the shell."""
    state = copy_state(state)
    state.last_active = inbound.now
    match inbound.message:
        case Text(text=text):
            if state.lead_offer is not None:
                answered = _lead_answer(ctx, state, state.lead_offer, text)
                if answered is not None:
                    return answered
            parsed = parse_command(text)
            if parsed is None or _is_option_answer(ctx, state.draft, parsed, text):
                return _answer(ctx, state, text, inbound.now)
            return _command(ctx, state, parsed, inbound)
        case MenuClick(key=key):
            command = MENU_KEYS.get(key.lower())
            if command is not None:
                return _command(ctx, state, Parsed(command), inbound)
            return _reply(ctx, state, service.help_text(ctx, state.draft))
        case Followed():
            return Outcome(state, None, SetSubscription(True))
        case Unfollowed():
            return Outcome(state, None, SetSubscription(False))
        case OtherEvent():
            return Outcome(state, None)  # view, scan, location reports… need no answer
        case NotText():
            return _reply(ctx, state, service.not_text(ctx, state.draft), keep_pages=True)
        case _:
            assert_never(inbound.message)


def resume(ctx: Context, state: State, completion: Completion) -> Outcome:
    """What a request's completion means for the conversation."""
    state = copy_state(state)
    draft = state.draft
    match completion:
        case ArchiveFound(profile=None):
            assert draft is not None
            return _advance(ctx, state, draft, "credit_code")
        case ArchiveFound(profile=profile):
            assert draft is not None and profile is not None
            draft.pending = ConfirmArchive(dict(profile))
            return _reply(ctx, state, questionnaire.archive_found(ctx, profile))
        case Submitted(results=results, matches=matches):
            state.draft = None
            latest, previous = results[0], next(iter(results[1:]), None)
            state.listed = _listed(matches)
            return _reply(ctx, state, result.result(
                ctx, latest, previous, fresh=True, then=solution_texts.proposals(ctx, matches)))
        case ResultsLoaded(results=()):
            return _reply(ctx, state, result.no_results(ctx, draft))
        case ResultsLoaded(results=results, matches=matches):
            latest, previous = results[0], next(iter(results[1:]), None)
            state.listed = _listed(matches)
            return _reply(ctx, state, result.result(
                ctx, latest, previous, fresh=False, draft=draft,
                then=solution_texts.proposals(ctx, matches)))
        case MatchesListed(matches=matches, submitted=submitted):
            state.listed = _listed(matches)
            return _reply(ctx, state, solution_texts.solution_list(ctx, matches,
                                                                   submitted=submitted))
        case SolutionShown(solution_id=solution_id, match=found):
            number = next((n for n, item in enumerate(state.listed, 1)
                           if item.id == solution_id), 0)
            return _reply(ctx, state, solution_texts.detail(ctx, number, found))
        case LeadCreated():
            state.lead_offer = None
            return _reply(ctx, state, solution_texts.lead_created(
                ctx, completion.title, completion.provider, completion.contact_name,
                already=completion.already))
        case LeadRefused(reason=why):
            state.lead_offer = None
            return _reply(ctx, state, solution_texts.lead_refused(ctx, why))
        case RequestFailed(request=request):
            return _failed(ctx, state, request)
        case SubscriptionSet(subscribed=subscribed):
            if not subscribed:
                return Outcome(state, None)
            return _reply(ctx, state, service.welcome(ctx, draft))
        case NoticeOptOutSet(opted_out=opted_out):
            return _reply(ctx, state, notice_texts.notices_choice(ctx, draft,
                                                                  opted_out=opted_out))
        case NoticesListed(items=items):
            return _reply(ctx, state, notice_texts.notices_list(ctx, draft, items))
        case SignUpDone():
            return _reply(ctx, state, notice_texts.signed_up(
                ctx, draft, completion.notice, completion.outcome, completion.position,
                already=completion.already))
        case WithdrawDone():
            return _reply(ctx, state, notice_texts.withdrawn(
                ctx, draft, completion.notice_id, completion.notice,
                withdrawn=completion.withdrawn))
        case CommissionerBound(name=name, area=area):
            return _reply(ctx, state, commissioner_texts.commissioner_bound(ctx, name, area))
        case ProviderContactBound(provider=provider):
            return _reply(ctx, state, solution_texts.provider_contact_bound(ctx, provider))
        case BindRefused(reason=reason):
            return _reply(ctx, state, commissioner_texts.bind_refused(ctx, reason))
        case NotCommissioner():
            return _reply(ctx, state, commissioner_texts.not_commissioner(ctx))
        case ConsoleLink(url=url, minutes=minutes):
            return _reply(ctx, state, commissioner_texts.console_link(ctx, url, minutes))
        case AreaProgress():
            return _reply(ctx, state, commissioner_texts.scope_progress(ctx, completion))
        case RosterPage():
            outcome = _reply(ctx, state, commissioner_texts.roster(ctx, completion))
            following = completion.next_offset
            # 下一页 after the last page of this part loads the next part.
            state.roster_next = None if following is None else (completion.status, following)
            return outcome
        case NudgeReport():
            return _reply(ctx, state, commissioner_texts.nudged(ctx, completion))
        case _:
            assert_never(completion)


def _failed(ctx: Context, state: State, request: Request) -> Outcome:
    """The shell could not carry `request` out; nothing changed outside."""
    match request:
        case Submit():
            return _reply(ctx, state, result.submit_failed(ctx))
        case SetSubscription(subscribed=subscribed):  # welcome them all the same
            return resume(ctx, state, SubscriptionSet(subscribed))
        case LookupArchive():  # go on without the archive; the submission upserts anyway
            return resume(ctx, state, ArchiveFound(None))
        case CreateLead():  # the offer stands: the mobile can be sent again
            return _reply(ctx, state, solution_texts.lead_failed(ctx))
        case (LoadResults() | SetNoticeOptOut() | ListNotices() | SignUpFor() | WithdrawFrom()
              | BindCode() | LoadScopeProgress() | LoadRoster() | NudgeEnterprises()
              | LoadMatches() | ShowSolution() | OpenConsole()):
            return _reply(ctx, state, service.unavailable(ctx))
        case _:
            assert_never(request)


def _reply(ctx: Context, state: State, text: str, *, request: Request | None = None,
           keep_pages: bool = False) -> Outcome:
    pages = paginate(text, service.more_hint(ctx))
    if not keep_pages or len(pages) > 1:
        state.pages = pages[1:]
        state.roster_next = None
    return Outcome(state, pages[0], request)


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


# --- commands ------------------------------------------------------------------------------

def _command(ctx: Context, state: State, parsed: Parsed, inbound: Inbound) -> Outcome:
    draft = state.draft
    command = parsed.command
    match command:
        case Command.MORE:
            return _more(ctx, state, inbound)
        case Command.HELP:
            return _reply(ctx, state, service.help_text(ctx, draft,
                                                        commissioner=inbound.commissioner))
        case Command.RESULT:
            return Outcome(state, None, LoadResults())
        case Command.NOTICES_OFF | Command.NOTICES_ON:
            return Outcome(state, None, SetNoticeOptOut(command is Command.NOTICES_OFF))
        case Command.NOTICES:
            return Outcome(state, None, ListNotices())
        case Command.SIGN_UP:
            return Outcome(state, None, SignUpFor(int(parsed.argument)))
        case Command.WITHDRAW:
            return Outcome(state, None, WithdrawFrom(int(parsed.argument)))
        case Command.BIND:
            if not parsed.argument:
                return _reply(ctx, state, commissioner_texts.bind_how(ctx))
            return Outcome(state, None, BindCode(parsed.argument))
        case Command.ROSTER:
            if not inbound.commissioner:
                return _reply(ctx, state, commissioner_texts.not_commissioner(ctx))
            status = as_status(parsed.argument)
            if status is None:
                return _reply(ctx, state, commissioner_texts.roster_how(ctx))
            return Outcome(state, None, LoadRoster(status))
        case Command.NUDGE:
            return _nudge(ctx, state, parsed.argument, inbound)
        case Command.CONSOLE:  # the shell tells who is a commissioner
            return Outcome(state, None, OpenConsole())
        case Command.SOLUTIONS:
            if not parsed.argument:
                return Outcome(state, None, LoadMatches())
            listed = _listed_at(state, parsed.argument)
            if listed is None:
                return _reply(ctx, state, solution_texts.not_listed(
                    ctx, int(parsed.argument), len(state.listed)))
            return Outcome(state, None, ShowSolution(listed.id))
        case Command.CONNECT:
            if not parsed.argument:
                return _reply(ctx, state, solution_texts.connect_how(ctx))
            listed = _listed_at(state, parsed.argument)
            if listed is None:
                return _reply(ctx, state, solution_texts.not_listed(
                    ctx, int(parsed.argument), len(state.listed)))
            state.lead_offer = LeadOffer(listed.id, listed.title, listed.provider)
            return _reply(ctx, state, solution_texts.lead_offer(ctx, state.lead_offer))
        case Command.PROGRESS if inbound.commissioner:  # the area's, not a draft's
            return Outcome(state, None, LoadScopeProgress())
        case Command.START if draft is None:
            state.draft = new_draft(ctx, draft_id=inbound.new_id, now=inbound.now)
            return _reply(ctx, state, questionnaire.started(ctx, ctx.iset(state.draft))
                          + "\n\n" + _prompt(ctx, state.draft))
        case (Command.START | Command.CONTINUE | Command.PROGRESS | Command.PREVIOUS
              | Command.EDIT | Command.RESTART | Command.EXPLAIN | Command.SUBMIT
              | Command.CONFIRM | Command.CANCEL):
            if draft is None:
                return _reply(ctx, state, questionnaire.no_draft(ctx))
            return _draft_command(ctx, state, draft, parsed, inbound)
        case _:
            assert_never(command)


def _more(ctx: Context, state: State, inbound: Inbound) -> Outcome:
    """更多 / 下一页: the next page of a long reply, or the next part of a commissioner's list."""
    if not state.pages and state.roster_next is not None and inbound.commissioner:
        status, offset = state.roster_next
        return Outcome(state, None, LoadRoster(status, offset))
    if not state.pages:
        return _reply(ctx, state, service.no_more(ctx))
    page, state.pages = state.pages[0], state.pages[1:]
    return Outcome(state, page)


def _nudge(ctx: Context, state: State, argument: str, inbound: Inbound) -> Outcome:
    if not inbound.commissioner:
        return _reply(ctx, state, commissioner_texts.not_commissioner(ctx))
    if not argument:
        return Outcome(state, None, NudgeEnterprises())
    code = parse_credit_code(argument)
    if isinstance(code, Problem):
        return _reply(ctx, state, commissioner_texts.nudge_how(ctx, code.render(ctx.tr)))
    return Outcome(state, None, NudgeEnterprises(code))


def _listed(matches: tuple[Match, ...]) -> tuple[Listed, ...]:
    return tuple(Listed(m.solution.id, m.solution.title, m.solution.provider.name)
                 for m in matches)


def _listed_at(state: State, number: str) -> Listed | None:
    index = int(number) - 1
    return state.listed[index] if 0 <= index < len(state.listed) else None


def _lead_answer(ctx: Context, state: State, offer: LeadOffer, text: str) -> Outcome | None:
    """What 对接 N waits for: the mobile (the consent), 取消, or 确认 (which still needs the
    mobile). Anything else: None, and the offer is dropped — the person has moved on."""
    mobile = mobile_number(text)
    if mobile is not None:
        return Outcome(state, None, CreateLead(offer.solution_id, mobile))
    parsed = parse_command(text)
    command = None if parsed is None else parsed.command
    if command is Command.CANCEL:
        state.lead_offer = None
        return _reply(ctx, state, solution_texts.lead_cancelled(ctx))
    if command is Command.CONFIRM or _NUMBER.fullmatch(normalize(text).replace(" ", "")):
        return _reply(ctx, state, solution_texts.mobile_needed(ctx, offer))
    state.lead_offer = None
    return None


def _draft_command(ctx: Context, state: State, draft: Draft, parsed: Parsed,
                   inbound: Inbound) -> Outcome:
    """The commands about the person's own draft (`_DRAFT_COMMANDS`)."""
    command = parsed.command
    if draft.pending is not None and command in (Command.CONFIRM, Command.CANCEL):
        return _settle(ctx, state, draft, draft.pending, confirmed=command is Command.CONFIRM,
                       inbound=inbound)
    if command in (Command.START, Command.CONTINUE):
        draft.pending = None
        return _reply(ctx, state, questionnaire.resume(ctx, draft) + "\n\n"
                      + _prompt(ctx, draft))
    if command is Command.PROGRESS:
        return _reply(ctx, state, questionnaire.progress(ctx, draft))
    if command is Command.EXPLAIN:
        return _reply(ctx, state, questionnaire.explain(ctx, draft))
    if command is Command.RESTART:
        draft.pending = ConfirmRestart()
        return _reply(ctx, state, questionnaire.confirm_restart(ctx, draft))
    if command is Command.PREVIOUS:
        previous = step_before(ctx, draft, draft.step)
        if previous is None:
            return _reply(ctx, state, questionnaire.at_first_step(ctx) + "\n\n"
                          + _prompt(ctx, draft))
        draft.step, draft.pending, draft.return_to = previous, None, None
        return _reply(ctx, state, _prompt(ctx, draft))
    if command is Command.EDIT:
        return _edit(ctx, state, draft, parsed.argument)
    if command is Command.SUBMIT:
        return _submit(ctx, state, draft, inbound.now)
    assert command in _DRAFT_COMMANDS, command
    # confirm/cancel with nothing to confirm: say what the step expects
    return _reply(ctx, state, questionnaire.nothing_to_confirm(ctx) + "\n\n"
                  + _prompt(ctx, draft))


def _prompt(ctx: Context, draft: Draft) -> str:
    return questionnaire.prompt(ctx, draft)


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


def _settle(ctx: Context, state: State, draft: Draft, pending: Pending, *,
            confirmed: bool, inbound: Inbound) -> Outcome:
    """确认 or 取消 of what waits for it."""
    draft.pending = None
    now = inbound.now
    match pending:
        case ConfirmRestart() if confirmed:
            state.draft = new_draft(ctx, draft_id=inbound.new_id, now=now, set_id=draft.set_id)
            return _reply(ctx, state, questionnaire.restarted(ctx) + "\n\n"
                          + _prompt(ctx, state.draft))
        case ConfirmRestart():
            return _reply(ctx, state, questionnaire.restart_cancelled(ctx) + "\n\n"
                          + _prompt(ctx, draft))
        case ConfirmArchive(profile=profile) if confirmed:
            draft.profile = ctx.reference.with_fields(draft.profile, {
                key: value for key, value in profile.items()
                if key in PROFILE_FIELDS and value is not None})
            draft.updated_at = now
            draft.step = first_unanswered(ctx, draft)
            return _reply(ctx, state, questionnaire.archive_reused(ctx) + "\n\n"
                          + _prompt(ctx, draft))
        case ConfirmArchive():
            return _advance(ctx, state, draft, "credit_code")
        case ConfirmFigures(code=code, key=key, figures=figures) if confirmed:
            draft.figures.update(figures)
            return _record(ctx, state, draft, code, key, now)
        case ConfirmFigures():
            return _reply(ctx, state, questionnaire.figures_discarded(ctx) + "\n\n"
                          + _prompt(ctx, draft))
        case _:
            assert_never(pending)


# --- answers -------------------------------------------------------------------------------

def _answer(ctx: Context, state: State, text: str, now: int) -> Outcome:
    draft = state.draft
    if draft is None:
        return _reply(ctx, state, service.welcome(ctx, None))
    # An accepted answer instead of 确认/取消 replaces what was waiting for confirmation
    # (`_record`, `_profile_answer`, `_figures_answer`); input that is not accepted leaves it.
    if isinstance(draft.pending, ConfirmRestart):
        return _reply(ctx, state, questionnaire.confirm_restart(ctx, draft))
    iset = ctx.iset(draft)
    match step_of(iset, draft.step):
        case ReviewStep():
            return _reply(ctx, state, questionnaire.review_hint(ctx) + "\n\n"
                          + _prompt(ctx, draft))
        case ProfileStep(field=field):
            return _profile_answer(ctx, state, draft, field, text, now)
        case QuestionStep(question=question):
            return _question_answer(ctx, state, draft, iset, question, text, now)
        case SceneStep(scene=scene):
            return _scene_answer(ctx, state, draft, iset, scene, text, now)
        case unknown:
            assert_never(unknown)


def _invalid(ctx: Context, state: State, draft: Draft, problem: Problem | str) -> Outcome:
    line = problem if isinstance(problem, str) else problem.render(ctx.tr)
    return _reply(ctx, state, line + "\n\n" + _asked(ctx, draft))


def _asked(ctx: Context, draft: Draft) -> str:
    """What the person is asked now: the confirmation still waiting, else the current step."""
    pending = draft.pending
    match pending:
        case None:
            return _prompt(ctx, draft)
        case ConfirmArchive(profile=profile):
            return questionnaire.archive_found(ctx, profile)
        case ConfirmRestart():
            return questionnaire.confirm_restart(ctx, draft)
        case ConfirmFigures(code=code, figures=given):
            iset = ctx.iset(draft)
            question = iset.question_by_code[code]
            figures = {name: Decimal(value) for name, value in {**draft.figures,
                                                                 **given}.items()}
            derived = derive(iset, question, figures)
            assert not isinstance(derived, list), derived  # derived from these very figures
            return questionnaire.figures_derived(ctx, iset, question, derived, figures)
        case _:
            assert_never(pending)


def _profile_answer(ctx: Context, state: State, draft: Draft, field: str, text: str,
                    now: int) -> Outcome:
    value = ctx.reference.parse_field(field, text, draft.profile.get("industry", ""))
    if isinstance(value, Problem):
        return _invalid(ctx, state, draft, value)
    draft.profile = ctx.reference.with_fields(draft.profile, {field: value})
    draft.pending = None
    draft.updated_at = now
    if field == "credit_code":
        return Outcome(state, None, LookupArchive(value))
    return _advance(ctx, state, draft, field)


def _advance(ctx: Context, state: State, draft: Draft, step: str) -> Outcome:
    """Move past `step` (see `advance`) and ask what comes next."""
    advance(ctx, draft, step)
    return _reply(ctx, state, _prompt(ctx, draft))


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
    found: list[str] = []
    for token in tokens:
        number = whole_number(token)
        if number is not None:
            if not 1 <= number <= len(question.options):
                return None
            found.append(question.options[number - 1].key)
        elif token.isascii() and token.isalpha():
            if len(token) > 1 and not all(c in keys for c in token):
                return None  # a word, not a run of option letters
            found.extend(token)
        else:
            return None
    return list(dict.fromkeys(found))  # "B B" means B


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
            return _invalid(ctx, state, draft, questionnaire.figures_hint(
                ctx, iset, question, draft.figures))
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
    draft.pending = ConfirmFigures(question.code, derived.key,
                                   {name: format(value, "f") for name, value in given.items()})
    return _reply(ctx, state, questionnaire.figures_derived(ctx, iset, question, derived,
                                                            {**known, **given}))


def _submit(ctx: Context, state: State, draft: Draft, now: int) -> Outcome:
    draft.pending = None  # 提交 answers no confirmation; a waiting one must not follow elsewhere
    if missing(ctx, draft) or draft.step != REVIEW:
        gap = first_unanswered(ctx, draft)
        draft.step, draft.return_to = gap, None
        if gap == REVIEW:  # everything answered, but not reviewed yet
            return _reply(ctx, state, _prompt(ctx, draft))
        return _reply(ctx, state, questionnaire.not_complete(ctx, draft, ctx.iset(draft))
                      + "\n\n" + _prompt(ctx, draft))
    return Outcome(state, None, submit_request(ctx, draft, now))
