"""Accepting answers and figures: every kind of refusal, exact derivation, translated messages."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from bot.translations import translator
from flows.answers import check_answer, check_answers
from flows.figures import Derived, check_figures, derive, parse_figure
from flows.i18n import PLAIN
from flows.indicators import IndicatorSet, builtin_sets
from flows.problems import Problem

SCENES = {f"S{i:02d}": 1 for i in range(1, 17)}
ANSWERS: dict[str, Any] = {
    "B1": ["B", "C"], "B2": "C", "B3": "B", "B4": ["B", "O"], "B5": "C", "B6": ["A"],
    "B7": ["B"], "M1": "D", "M2": ["B"], "M3": ["A"], "M4": "B", "R1": "B", "R2": "C",
    "R3": "C", "R4": "A", **SCENES,
}
# Figures that give exactly the options in ANSWERS for every derivable question.
FIGURES: dict[str, Any] = {
    "production_equipment_total": 120, "digital_equipment": 45,  # 37.5 % -> B2 C
    "networked_equipment": 18,  # 15 % -> B3 B
    "digital_investment_per_year": 30, "revenue_last_year": 200,
    "revenue_year_before": 100,  # 30 / 150 = 20 % -> M4 B
    "energy_last_year": 100, "energy_year_before": 50,  # 0.5 per 万元 both years -> R1 B
    "employees_last_year": 10, "employees_year_before": 10,  # per capita up -> R3 C
    "cost_last_year": 180, "cost_year_before": 80,  # 0.9 vs 0.8 per revenue, up -> R4 A
}
DERIVABLE = ("B2", "B3", "M4", "R1", "R3", "R4")


@pytest.fixture(scope="module")
def iset() -> IndicatorSet:
    return builtin_sets()["miit-2024"]


def without(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}


# --- one answer at a time -----------------------------------------------------------------

INVALID_ANSWERS = [
    ("unknown-question", "X9", "A", "unknown_question", "X9"),
    ("unknown-question-lowercase", "b1", ["A"], "unknown_question", "b1"),
    ("unknown-question-empty", "", "A", "unknown_question", ""),
    ("unknown-option-single", "B2", "F", "unknown_option", "B2"),
    ("unknown-option-lowercase", "B5", "e", "unknown_option", "B5"),
    ("unknown-option-multiple", "B1", ["B", "Z"], "unknown_option", "B1"),
    ("unknown-option-beyond-range", "R1", "D", "unknown_option", "R1"),
    ("non-text-key-in-list", "B4", ["B", 3], "unknown_option", "B4"),
    ("exclusive-combined", "B1", ["A", "B"], "exclusive_combined", "B1"),
    ("exclusive-combined-last", "M3", ["C", "D", "A"], "exclusive_combined", "M3"),
    ("list-for-single", "B2", ["C"], "list_for_single", "B2"),
    ("empty-list-for-single", "M1", [], "list_for_single", "M1"),
    ("number-for-single", "B5", 3, "expected_key", "B5"),
    ("null-for-single", "R2", None, "expected_key", "R2"),
    ("text-for-multiple", "B1", "B", "expected_list", "B1"),
    ("object-for-multiple", "M2", {"B": True}, "expected_list", "M2"),
    ("null-for-multiple", "B6", None, "expected_list", "B6"),
    ("empty-list", "B4", [], "empty_choice", "B4"),
    ("duplicate-option", "B4", ["B", "C", "B"], "duplicate_option", "B4"),
    ("duplicate-exclusive", "B7", ["A", "A"], "duplicate_option", "B7"),
    ("scene-level-5", "S01", 5, "scene_level_range", "S01"),
    ("scene-level-negative", "S16", -1, "scene_level_range", "S16"),
    ("scene-level-2.5-float", "S02", 2.5, "scene_level_range", "S02"),
    ("scene-level-2.5-decimal", "S02", Decimal("2.5"), "scene_level_range", "S02"),
    ("scene-level-text", "S03", "2", "scene_level_range", "S03"),
    ("scene-level-true", "S04", True, "scene_level_range", "S04"),
    ("scene-level-false", "S04", False, "scene_level_range", "S04"),
    ("scene-level-null", "S05", None, "scene_level_range", "S05"),
    ("scene-level-list", "S06", [2], "scene_level_range", "S06"),
    ("scene-level-nan", "S07", Decimal("NaN"), "scene_level_range", "S07"),
    ("scene-level-infinity", "S07", float("inf"), "scene_level_range", "S07"),
    ("scene-level-as-option", "S08", "B", "scene_level_range", "S08"),
]


@pytest.mark.parametrize(("code", "value", "problem", "subject"),
                         [case[1:] for case in INVALID_ANSWERS],
                         ids=[case[0] for case in INVALID_ANSWERS])
def test_invalid_answer(iset: IndicatorSet, code: str, value: Any, problem: str,
                        subject: str) -> None:
    result = check_answer(iset, code, value)
    assert isinstance(result, Problem)
    assert (result.code, result.subject) == (problem, subject)
    assert result.params["code"] == subject
    assert subject in result.render(PLAIN)


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        ("B2", "C", "C"),
        ("B1", ["A"], ("A",)),
        ("B1", ["E", "B", "C"], ("B", "C", "E")),  # normalised to the option order
        ("B4", list("ONMLKJIHGFEDCB"), tuple("BCDEFGHIJKLMNO")),
        ("S01", 0, 0),
        ("S01", 4, 4),
        ("S09", Decimal("3.0"), 3),
        ("S10", 2.0, 2),
    ],
    ids=["single", "exclusive-alone", "multiple-reordered", "all-b4", "scene-0", "scene-4",
         "scene-decimal-whole", "scene-float-whole"],
)
def test_valid_answer(iset: IndicatorSet, code: str, value: Any, expected: Any) -> None:
    result = check_answer(iset, code, value)
    assert result == expected
    assert type(result) is type(expected)


def test_unknown_option_lists_the_options(iset: IndicatorSet) -> None:
    result = check_answer(iset, "R1", "D")
    assert isinstance(result, Problem)
    assert result.render(PLAIN) == "R1: there is no option D (options: A, B, C)"


@pytest.mark.parametrize(
    ("dropped", "problems"),
    [
        (("B3",), [("missing", "B3")]),
        (("S16",), [("missing", "S16")]),
        (("B1", "R4", "S01"), [("missing", "B1"), ("missing", "R4"), ("missing", "S01")]),
    ],
    ids=["question", "scene", "several-in-set-order"],
)
def test_missing_answers(iset: IndicatorSet, dropped: tuple[str, ...],
                         problems: list[tuple[str, str]]) -> None:
    answers, _figures, found = check_answers(iset, without(ANSWERS, *dropped))
    assert [(p.code, p.subject) for p in found] == problems
    assert not set(dropped) & set(answers)


def test_complete_answers_accepted(iset: IndicatorSet) -> None:
    answers, figures, problems = check_answers(iset, ANSWERS)
    assert problems == []
    assert figures == {}
    assert answers["B1"] == ("B", "C")
    assert answers["S16"] == 1
    assert set(answers) == set(iset.codes)


def test_every_problem_reported_not_just_the_first(iset: IndicatorSet) -> None:
    raw = {**without(ANSWERS, "M1"), "B1": ["A", "C"], "B2": ["C"], "S05": 7, "Z1": "A"}
    _answers, _figures, problems = check_answers(iset, raw)
    assert [(p.code, p.subject) for p in problems] == [
        ("exclusive_combined", "B1"), ("list_for_single", "B2"), ("scene_level_range", "S05"),
        ("unknown_question", "Z1"), ("missing", "M1")]


# --- figures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (45, Decimal(45)),
        (Decimal("12.50"), Decimal("12.5")),
        (12.5, Decimal("12.5")),
        (0.1, Decimal("0.1")),
        ("1,200", Decimal(1200)),
        (" 45 ", Decimal(45)),
        ("0", Decimal(0)),
    ],
    ids=["int", "decimal", "float", "float-0.1-exact", "text-with-comma", "text-padded",
         "zero"],
)
def test_figure_accepted(iset: IndicatorSet, value: Any, expected: Decimal) -> None:
    result = parse_figure(iset, "digital_equipment", value)
    assert result == expected
    assert isinstance(result, Decimal)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("digital_equipment", "many", "figure_not_number"),
        ("digital_equipment", "", "figure_not_number"),
        ("digital_equipment", True, "figure_not_number"),
        ("digital_equipment", None, "figure_not_number"),
        ("digital_equipment", [45], "figure_not_number"),
        ("digital_equipment", float("nan"), "figure_not_number"),
        ("digital_equipment", Decimal("Infinity"), "figure_not_number"),
        ("digital_equipment", "NaN", "figure_not_number"),
        ("digital_equipment", "1e16", "figure_not_number"),
        ("revenue_last_year", -1, "figure_negative"),
        ("revenue_last_year", "-3", "figure_negative"),
        ("revenue_last_year", Decimal("-0.5"), "figure_negative"),
        ("devices", 45, "unknown_figure"),
    ],
    ids=["word", "empty", "true", "null", "list", "nan", "infinity", "nan-text", "too-large",
         "negative-int", "negative-text", "negative-decimal", "unknown-name"],
)
def test_figure_refused(iset: IndicatorSet, name: str, value: Any, problem: str) -> None:
    figures, problems = check_figures(iset, {name: value})
    assert figures == {}
    assert [(p.code, p.subject) for p in problems] == [(problem, name)]


def _figures(**values: Any) -> dict[str, Decimal]:
    return {name: Decimal(value) for name, value in values.items()}


def _derive(iset: IndicatorSet, code: str, **values: Any) -> Derived | list[Problem]:
    return derive(iset, iset.question_by_code[code], _figures(**values))


@pytest.mark.parametrize(
    ("code", "part_name", "part", "whole", "key", "percent"),
    [
        ("B2", "digital_equipment", 45, 120, "C", "37.5"),
        ("B2", "digital_equipment", 0, 120, "A", "0"),
        ("B2", "digital_equipment", 12, 120, "A", "10"),
        ("B2", "digital_equipment", 101, 1000, "B", "10.1"),
        ("B2", "digital_equipment", "10.001", 100, "B", "10.001"),
        ("B2", "digital_equipment", 20, 100, "B", "20"),
        ("B2", "digital_equipment", 21, 100, "C", "21"),
        ("B2", "digital_equipment", 60, 100, "D", "60"),
        ("B2", "digital_equipment", 61, 100, "E", "61"),
        ("B2", "digital_equipment", 120, 120, "E", "100"),
        ("B3", "networked_equipment", 18, 120, "B", "15"),
        ("B3", "networked_equipment", 72, 120, "D", "60"),
    ],
    ids=["45-of-120", "none", "exactly-10", "just-above-10", "barely-above-10", "exactly-20",
         "21", "exactly-60", "61", "all", "networked-15", "networked-60"],
)
def test_ratio_band(iset: IndicatorSet, code: str, part_name: str, part: Any, whole: int,
                    key: str, percent: str) -> None:
    result = _derive(iset, code, **{part_name: part, "production_equipment_total": whole})
    assert isinstance(result, Derived)
    assert (result.code, result.key) == (code, key)
    assert result.percent == Decimal(percent)


def test_percent_display_rounds_half_up(iset: IndicatorSet) -> None:
    result = _derive(iset, "B2", digital_equipment=1, production_equipment_total=3)
    assert isinstance(result, Derived)
    assert result.key == "C"
    assert result.display_percent() == "33.3"
    half = _derive(iset, "B2", digital_equipment=1, production_equipment_total=16)  # 6.25 %
    assert isinstance(half, Derived)
    assert (half.display_percent(1), half.display_percent(2)) == ("6.3", "6.25")


@pytest.mark.parametrize(
    ("code", "values", "problem", "subject"),
    [
        ("B2", {"digital_equipment": 121, "production_equipment_total": 120},
         "part_exceeds_whole", "B2"),
        ("B3", {"networked_equipment": 5, "production_equipment_total": 4},
         "part_exceeds_whole", "B3"),
        ("B2", {"digital_equipment": 0, "production_equipment_total": 0}, "figure_zero", "B2"),
        ("B2", {"digital_equipment": 5, "production_equipment_total": 0}, "figure_zero", "B2"),
        ("M4", {"digital_investment_per_year": 10, "revenue_last_year": 0,
                "revenue_year_before": 0}, "figure_zero", "M4"),
        ("M4", {"digital_investment_per_year": 151, "revenue_last_year": 200,
                "revenue_year_before": 100}, "ratio_out_of_range", "M4"),
        ("B2", {"digital_equipment": 45}, "figure_missing", "B2"),
        ("R2", {"pass_rate": 98}, "not_derivable", "R2"),
    ],
    ids=["part-exceeds-whole", "networked-exceeds-whole", "zero-of-zero", "zero-total",
         "zero-revenue", "investment-above-revenue", "total-missing", "not-derivable"],
)
def test_derivation_refused(iset: IndicatorSet, code: str, values: dict[str, Any],
                            problem: str, subject: str) -> None:
    result = _derive(iset, code, **values)
    assert isinstance(result, list)
    assert [(p.code, p.subject) for p in result] == [(problem, subject)]


def test_part_exceeds_whole_message(iset: IndicatorSet) -> None:
    result = _derive(iset, "B2", digital_equipment=121, production_equipment_total=120)
    assert isinstance(result, list)
    assert result[0].render(PLAIN) == ("B2: 实现数字化的生产设备数量（台） (121) cannot exceed "
                                       "生产设备数量（台） (120)")


def test_change_with_both_denominators_zero(iset: IndicatorSet) -> None:
    result = _derive(iset, "R1", energy_last_year=5, revenue_last_year=0, energy_year_before=5,
                     revenue_year_before=0)
    assert isinstance(result, list)
    assert [(p.code, p.subject, p.params["figure"]) for p in result] == [
        ("figure_zero", "R1", "上年营业收入（万元）"),
        ("figure_zero", "R1", "前年营业收入（万元）"),
    ]


@pytest.mark.parametrize(
    ("code", "values", "direction", "key", "text"),
    [
        # R3: revenue per employee; up is good
        ("R3", dict(revenue_last_year=1200, employees_last_year=10, revenue_year_before=1000,
                    employees_year_before=10), "up", "C", "增加"),
        ("R3", dict(revenue_last_year=1200, employees_last_year=12, revenue_year_before=1000,
                    employees_year_before=10), "flat", "B", "持平"),
        ("R3", dict(revenue_last_year=1000, employees_last_year=11, revenue_year_before=1000,
                    employees_year_before=10), "down", "A", "降低"),
        # R4: cost per revenue; up is bad
        ("R4", dict(cost_last_year=90, revenue_last_year=100, cost_year_before=80,
                    revenue_year_before=100), "up", "A", "增加"),
        ("R4", dict(cost_last_year=160, revenue_last_year=200, cost_year_before=80,
                    revenue_year_before=100), "flat", "B", "持平"),
        ("R4", dict(cost_last_year="79.99", revenue_last_year=100, cost_year_before=80,
                    revenue_year_before=100), "down", "C", "降低"),
        # R1: energy per revenue; up is bad
        ("R1", dict(energy_last_year=50, revenue_last_year=800, energy_year_before=50,
                    revenue_year_before=1000), "up", "A", "增加"),
        ("R1", dict(energy_last_year=30, revenue_last_year=300, energy_year_before=10,
                    revenue_year_before=100), "flat", "B", "持平"),
        ("R1", dict(energy_last_year=50, revenue_last_year=1000, energy_year_before=50,
                    revenue_year_before=800), "down", "C", "降低"),
    ],
    ids=["R3-up", "R3-flat", "R3-down", "R4-up", "R4-flat", "R4-down", "R1-up", "R1-flat",
         "R1-down"],
)
def test_ratio_change(iset: IndicatorSet, code: str, values: dict[str, Any], direction: str,
                      key: str, text: str) -> None:
    result = _derive(iset, code, **values)
    assert isinstance(result, Derived)
    assert (result.code, result.direction, result.key) == (code, direction, key)
    assert iset.question_by_code[code].option_by_key[key].text == text
    assert result.percent is None


def test_ratio_change_flat_is_exact_not_rounded(iset: IndicatorSet) -> None:
    # 1/3 against 2/6: equal exactly, though neither is a finite decimal
    result = _derive(iset, "R4", cost_last_year=1, revenue_last_year=3, cost_year_before=2,
                     revenue_year_before=6)
    assert isinstance(result, Derived)
    assert (result.direction, result.key) == ("flat", "B")


@pytest.mark.parametrize(
    ("investment", "last", "before", "key", "percent"),
    [
        (30, 200, 100, "B", "20"),  # 30 of a 150 mean: exactly 20 %
        (31, 200, 100, "C", None),
        (15, 200, 100, "A", "10"),
        (90, 200, 100, "D", "60"),
        (150, 200, 100, "E", "100"),
        (0, 200, 100, "A", "0"),
        (10, 0, 100, "B", "20"),  # a year without revenue still counts in the mean: 10 of 50
    ],
    ids=["exactly-20", "above-20", "exactly-10", "exactly-60", "exactly-100", "nothing",
         "one-year-zero"],
)
def test_m4_investment_over_two_revenue_years(iset: IndicatorSet, investment: int, last: int,
                                              before: int, key: str,
                                              percent: str | None) -> None:
    result = _derive(iset, "M4", digital_investment_per_year=investment,
                     revenue_last_year=last, revenue_year_before=before)
    assert isinstance(result, Derived)
    assert result.key == key
    if percent is not None:
        assert result.percent == Decimal(percent)


# --- answers and figures together ---------------------------------------------------------


def test_figures_answer_every_derivable_question(iset: IndicatorSet) -> None:
    answers, figures, problems = check_answers(iset, without(ANSWERS, *DERIVABLE), FIGURES)
    assert problems == []
    assert {code: answers[code] for code in DERIVABLE} == {
        "B2": "C", "B3": "B", "M4": "B", "R1": "B", "R3": "C", "R4": "A"}
    assert figures["digital_equipment"] == Decimal(45)
    assert all(isinstance(v, Decimal) for v in figures.values())


def test_answers_matching_figures_are_accepted(iset: IndicatorSet) -> None:
    answers, _figures, problems = check_answers(iset, ANSWERS, FIGURES)
    assert problems == []
    assert answers["B2"] == "C"


@pytest.mark.parametrize(
    ("code", "given", "derived"),
    [("B2", "E", "C"), ("B3", "A", "B"), ("M4", "C", "B"), ("R1", "C", "B"), ("R3", "A", "C"),
     ("R4", "C", "A")],
)
def test_answer_contradicting_figures(iset: IndicatorSet, code: str, given: str,
                                      derived: str) -> None:
    answers, _figures, problems = check_answers(iset, {**ANSWERS, code: given}, FIGURES)
    assert [(p.code, p.subject) for p in problems] == [("answer_contradicts_figures", code)]
    assert (problems[0].params["given"], problems[0].params["derived"]) == (given, derived)


def test_partial_figures_do_not_answer(iset: IndicatorSet) -> None:
    # B2 has its figures; B3 lacks networked_equipment, so it must still be answered
    figures = {"digital_equipment": 45, "production_equipment_total": 120}
    answers, _figures, problems = check_answers(iset, without(ANSWERS, "B2", "B3"), figures)
    assert answers["B2"] == "C"
    assert [(p.code, p.subject) for p in problems] == [("missing", "B3")]


@pytest.mark.parametrize(
    ("figures", "drop", "problems"),
    [
        ({"digital_equipment": 130, "production_equipment_total": 120}, ("B2",),
         [("part_exceeds_whole", "B2")]),
        ({"digital_equipment": 130, "production_equipment_total": 120}, (),
         [("part_exceeds_whole", "B2")]),
        ({"digital_equipment": "lots", "production_equipment_total": 120}, ("B2",),
         [("figure_not_number", "digital_equipment"), ("missing", "B2")]),
        ({"digital_equipment": -4, "production_equipment_total": 120}, (),
         [("figure_negative", "digital_equipment")]),
        ({"digital_equipment": 0, "production_equipment_total": 0}, ("B2",),
         [("figure_zero", "B2")]),
        ({"machines": 3}, (), [("unknown_figure", "machines")]),
    ],
    ids=["exceeds-unanswered", "exceeds-answered", "not-a-number", "negative", "zero",
         "unknown"],
)
def test_figure_problems_in_answer_set(iset: IndicatorSet, figures: dict[str, Any],
                                       drop: tuple[str, ...],
                                       problems: list[tuple[str, str]]) -> None:
    _answers, _figures, found = check_answers(iset, without(ANSWERS, *drop), figures)
    assert [(p.code, p.subject) for p in found] == problems


# --- rendering in Chinese -----------------------------------------------------------------


def _all_problem_kinds(iset: IndicatorSet) -> list[Problem]:
    problems: list[Problem] = []
    for _, code, value, _, _ in INVALID_ANSWERS:
        result = check_answer(iset, code, value)
        assert isinstance(result, Problem)
        problems.append(result)
    _, _, found = check_answers(iset, {**without(ANSWERS, "R2"), "B2": "E"}, FIGURES)
    problems += found  # answer_contradicts_figures, missing
    _, found = check_figures(iset, {"digital_equipment": "x", "cost_last_year": -1,
                                    "machines": 1})
    problems += found
    for code, values in [
        ("B2", {"digital_equipment": 2, "production_equipment_total": 1}),
        ("B2", {"digital_equipment": 0, "production_equipment_total": 0}),
        ("M4", {"digital_investment_per_year": 151, "revenue_last_year": 200,
                "revenue_year_before": 100}),
        ("B2", {"digital_equipment": 1}),
        ("R2", {}),
    ]:
        derived = _derive(iset, code, **values)
        assert isinstance(derived, list)
        problems += derived
    return problems


def test_every_problem_kind_is_covered(iset: IndicatorSet) -> None:
    assert {p.code for p in _all_problem_kinds(iset)} == {
        "unknown_question", "unknown_option", "exclusive_combined", "list_for_single",
        "expected_key", "expected_list", "empty_choice", "duplicate_option",
        "scene_level_range", "answer_contradicts_figures", "missing", "figure_not_number",
        "figure_negative", "unknown_figure", "part_exceeds_whole", "figure_zero",
        "ratio_out_of_range", "figure_missing", "not_derivable"}


def test_problems_render_in_chinese(iset: IndicatorSet) -> None:
    zh = translator("zh_CN")
    for problem in _all_problem_kinds(iset):
        text = problem.render(zh)
        assert text != problem.render(PLAIN), problem.code
        assert re.search(r"[\u4e00-\u9fff]", text), text
        if problem.subject in iset.question_by_code or problem.subject in iset.scene_by_code:
            assert text.startswith(f"{problem.subject}："), text
        rest = text
        for value in sorted((str(v) for v in problem.params.values()), key=len, reverse=True):
            rest = rest.replace(value, "")
        # whatever English is left did not come from the user's input: it is untranslated
        assert not re.search(r"[A-Za-z]", rest), (problem.code, text)


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        ("B2", ["C"], "B2：本题为单选题，请只给出一个选项字母，不要用列表"),
        ("B1", ["A", "B"], "B1：选项 A（无）不能与其他选项同时选择"),
        ("S01", 5, "S01：场景等级应为 0 到 4 的整数"),
        ("R1", "D", "R1：没有选项 D（可选：A, B, C）"),
        ("X9", "A", "X9：指标体系 miit-2024 中没有这道题"),
    ],
    ids=["list-for-single", "exclusive", "scene-range", "unknown-option", "unknown-question"],
)
def test_chinese_wording(iset: IndicatorSet, code: str, value: Any, expected: str) -> None:
    result = check_answer(iset, code, value)
    assert isinstance(result, Problem)
    assert result.render(translator("zh_CN")) == expected
