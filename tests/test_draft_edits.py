"""Direct draft edits (the mini-program's way): same rules as the chat, nothing changes on bad
input, and the position moves exactly as the chat would move it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.translations import translator
from flows import draft_edits
from flows.conversation import handle
from flows.events import Inbound, Submit, Text
from flows.indicators import DEFAULT_SET_ID, builtin_sets
from flows.problems import Problem
from flows.profile import builtin_reference, credit_code_check_char
from flows.state import Context, State

CTX = Context(sets=builtin_sets(), default_set=DEFAULT_SET_ID, reference=builtin_reference(),
              tr=translator("zh_CN"))
ISET = CTX.sets[DEFAULT_SET_ID]
NOW = 1_760_000_000
CODE17 = "91370100MA3C12345"
CODE = CODE17 + credit_code_check_char(CODE17)
PROFILE = {"credit_code": CODE, "name": "济南鲁信机械有限公司", "city": "济南市",
           "county": "历下区", "industry": "C", "industry_division": "34", "employees": "120"}


def started() -> State:
    return draft_edits.start(CTX, State(), now=NOW, new_id="d-1")


def ok(result: State | list[Problem]) -> State:
    assert isinstance(result, State), result
    return result


def with_profile() -> State:
    return ok(draft_edits.update_profile(CTX, started(), PROFILE, now=NOW + 1))


def test_start_keeps_a_draft_in_progress() -> None:
    state = started()
    assert state.draft is not None and state.draft.step == "credit_code"
    assert draft_edits.start(CTX, state, now=NOW + 5, new_id="d-2") is state


def test_profile_is_checked_whole_and_moves_past_the_profile() -> None:
    state = with_profile()
    draft = state.draft
    assert draft is not None
    assert draft.profile == {**PROFILE, "employees": 120}
    assert draft.step == "B1"


@pytest.mark.parametrize(("field", "value", "code"), [
    ("credit_code", CODE[:-1] + ("1" if CODE[-1] != "1" else "2"), "credit_code_check"),
    ("credit_code", "123", "credit_code_length"),
    ("city", "北京市", "city"),
    ("industry", "Z", "industry"),
    ("industry_division", "99", "industry_division"),
    ("employees", "很多", "employees"),
    ("employees", True, "field_type"),
    ("name", "x", "name_length"),
    ("website", "x", "unknown_field"),
])
def test_a_bad_field_changes_nothing(field: str, value: Any, code: str) -> None:
    state = started()
    before = copy.deepcopy(state)
    result = draft_edits.update_profile(CTX, state, {**PROFILE, field: value}, now=NOW + 1)
    assert isinstance(result, list) and [p.code for p in result] == [code]
    assert result[0].subject == field
    assert state == before


def test_changing_the_industry_drops_the_division() -> None:
    state = ok(draft_edits.update_profile(CTX, with_profile(), {"industry": "F"}, now=NOW + 2))
    assert state.draft is not None
    assert state.draft.profile["industry"] == "F"
    assert "industry_division" not in state.draft.profile


def test_answers_move_on_like_the_chat() -> None:
    state = with_profile()
    state = ok(draft_edits.set_answer(CTX, state, "B1", ["C", "B"], now=NOW + 3))
    assert state.draft is not None
    assert state.draft.answers["B1"] == ["B", "C"] and state.draft.step == "B2"
    # Answering ahead does not move the place the person stands at.
    state = ok(draft_edits.set_answer(CTX, state, "S01", 3, now=NOW + 4))
    assert state.draft is not None and state.draft.step == "B2"
    # The chat takes over at the same place.
    reply = handle(CTX, state, Inbound(Text("继续"), now=NOW + 5)).reply
    assert reply is not None and "第 2/31 题" in reply


@pytest.mark.parametrize(("code", "value", "problem"), [
    ("B1", ["A", "B"], "exclusive_combined"),
    ("B1", "B", "expected_list"),
    ("B2", ["B"], "list_for_single"),
    ("B2", "Z", "unknown_option"),
    ("S01", 5, "scene_level_range"),
    ("S01", "3", "scene_level_range"),
    ("X9", "B", "unknown_question"),
])
def test_a_bad_answer_changes_nothing(code: str, value: Any, problem: str) -> None:
    state = with_profile()
    before = copy.deepcopy(state)
    result = draft_edits.set_answer(CTX, state, code, value, now=NOW + 3)
    assert isinstance(result, list) and result[0].code == problem
    assert state == before


def test_figures_give_and_check_the_answer() -> None:
    state = with_profile()
    figures = {"digital_equipment": 45, "production_equipment_total": "120"}
    derived = draft_edits.compute(ISET, state.draft, "B2", figures)
    assert not isinstance(derived, list) and derived.key == "C"
    assert str(derived.percent) == "37.5"
    state = ok(draft_edits.set_answer(CTX, state, "B2", None, figures, now=NOW + 3))
    assert state.draft is not None and state.draft.answers["B2"] == "C"
    assert state.draft.figures == {"digital_equipment": "45", "production_equipment_total": "120"}
    # B3 shares the device total: one more figure is enough.
    derived = draft_edits.compute(ISET, state.draft, "B3", {"networked_equipment": 6})
    assert not isinstance(derived, list) and derived.key == "A"
    contradiction = draft_edits.set_answer(CTX, state, "B2", "E", figures, now=NOW + 4)
    assert isinstance(contradiction, list)
    assert contradiction[0].code == "answer_contradicts_figures"
    bad = draft_edits.compute(ISET, state.draft, "B2",
                              {"digital_equipment": 130, "production_equipment_total": 120})
    assert isinstance(bad, list)
    assert isinstance(draft_edits.compute(ISET, None, "B1", {"x": 1}), list)  # no figures


def test_submission_needs_everything_then_matches_the_chat() -> None:
    state = with_profile()
    missing = draft_edits.submission(CTX, state, now=NOW + 9)
    assert isinstance(missing, list) and len(missing) == len(ISET.codes)
    for question in ISET.questions:
        value: Any = ["B"] if question.type == "multiple" else "B"
        state = ok(draft_edits.set_answer(CTX, state, question.code, value, now=NOW + 5))
    for scene in ISET.scenes:
        state = ok(draft_edits.set_answer(CTX, state, scene.code, 2, now=NOW + 6))
    assert state.draft is not None and state.draft.step == "review"
    made = draft_edits.submission(CTX, state, now=NOW + 9)
    assert isinstance(made, Submit)
    assert made.draft_id == "d-1" and made.submitted_at == NOW + 9
    assert made.profile["employees"] == 120 and made.assessment.level >= 0


def test_no_draft_is_a_problem_not_a_crash() -> None:
    for result in (draft_edits.update_profile(CTX, State(), PROFILE, now=NOW),
                   draft_edits.set_answer(CTX, State(), "B1", ["B"], now=NOW),
                   draft_edits.submission(CTX, State(), now=NOW)):
        assert isinstance(result, list) and result[0].code == "no_draft"
