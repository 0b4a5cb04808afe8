"""The indicator set as data: the shipped file, the validator's refusals, and a second set."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from flows.answers import check_answers
from flows.indicators import (
    DEFAULT_SET_ID,
    IndicatorSet,
    IndicatorSetError,
    builtin_sets,
    decode,
    parse_indicator_set,
)
from flows.scoring import assess

QUESTION_CODES = ("B1", "B2", "B3", "B4", "B5", "B6", "B7",
                  "M1", "M2", "M3", "M4", "R1", "R2", "R3", "R4")
SCENE_CODES = tuple(f"S{i:02d}" for i in range(1, 17))
CONSTRAINT_SCENES = {"S01", "S03", "S06", "S07", "S08", "S09", "S10", "S11", "S12", "S13"}
MULTIPLE_CHOICE = {"B1", "B4", "B6", "B7", "M2", "M3"}


def raw_data() -> dict[str, Any]:
    """A fresh, mutable copy of the shipped data file, decoded the way the loader decodes it."""
    text = resources.files("flows.sets").joinpath("miit-2024.json").read_bytes()
    return copy.deepcopy(decode(text))


@pytest.fixture(scope="module")
def iset() -> IndicatorSet:
    return builtin_sets()["miit-2024"]


# --- the shipped set ---------------------------------------------------------------------


def test_default_set_is_shipped() -> None:
    sets = builtin_sets()
    assert DEFAULT_SET_ID == "miit-2024"
    assert sets[DEFAULT_SET_ID].id == "miit-2024"


def test_codes_in_questionnaire_order(iset: IndicatorSet) -> None:
    assert tuple(q.code for q in iset.questions) == QUESTION_CODES
    assert tuple(s.code for s in iset.scenes) == SCENE_CODES
    assert iset.codes == QUESTION_CODES + SCENE_CODES


def test_constraint_scenes(iset: IndicatorSet) -> None:
    assert {s.code for s in iset.scenes if s.constraint} == CONSTRAINT_SCENES
    assert len(CONSTRAINT_SCENES) == 10


@pytest.mark.parametrize(
    ("dimension", "maximum"),
    [("foundation", Decimal(50)), ("management", Decimal(30)), ("effectiveness", Decimal(20))],
)
def test_dimension_maxima(iset: IndicatorSet, dimension: str, maximum: Decimal) -> None:
    dim = next(d for d in iset.dimensions if d.code == dimension)
    assert dim.max_score == maximum
    assert sum((g.max_score for g in dim.groups), Decimal(0)) == maximum


def test_total_maximum(iset: IndicatorSet) -> None:
    assert iset.max_score == Decimal(100)
    assert tuple(d.code for d in iset.dimensions) == ("foundation", "management",
                                                      "effectiveness")


@pytest.mark.parametrize(
    ("code", "qtype", "maximum", "keys"),
    [
        ("B1", "multiple", "8", "ABCDE"),
        ("B2", "single", "6", "ABCDE"),
        ("B3", "single", "6", "ABCDE"),
        ("B4", "multiple", "10", "ABCDEFGHIJKLMNO"),
        ("B5", "single", "10", "ABCDE"),
        ("B6", "multiple", "5", "ABCDE"),
        ("B7", "multiple", "5", "ABCDE"),
        ("M1", "single", "7.5", "ABCDEF"),
        ("M2", "multiple", "7.5", "ABCDE"),
        ("M3", "multiple", "7.5", "ABCDEF"),
        ("M4", "single", "7.5", "ABCDE"),
        ("R1", "single", "7", "ABC"),
        ("R2", "single", "7", "ABC"),
        ("R3", "single", "3", "ABC"),
        ("R4", "single", "3", "ABC"),
    ],
)
def test_question_shape(iset: IndicatorSet, code: str, qtype: str, maximum: str,
                        keys: str) -> None:
    q = iset.question_by_code[code]
    assert q.type == qtype
    assert q.max_score == Decimal(maximum)
    assert "".join(o.key for o in q.options) == keys
    assert tuple(q.option_by_key) == tuple(keys)


def test_options_match_data_file(iset: IndicatorSet) -> None:
    raw = raw_data()
    raw_questions = [q for d in raw["scored_part"]["dimensions"] for g in d["groups"]
                     for q in g["questions"]]
    assert [q["code"] for q in raw_questions] == list(QUESTION_CODES)
    for rq in raw_questions:
        q = iset.question_by_code[rq["code"]]
        assert q.title == rq["title"]
        assert [(o.key, o.text, o.score) for o in q.options] == [
            (o["key"], o["text"], Decimal(o["score"])) for o in rq["options"]]


@pytest.mark.parametrize("code", sorted(MULTIPLE_CHOICE))
def test_multiple_choice_has_exclusive_none_option(iset: IndicatorSet, code: str) -> None:
    q = iset.question_by_code[code]
    first = q.options[0]
    assert (first.key, first.text, first.score, first.exclusive) == ("A", "无", Decimal(0), True)
    assert not any(o.exclusive for o in q.options[1:])
    # every non-exclusive option together reaches exactly the maximum (no silent capping)
    assert sum((o.score for o in q.options[1:]), Decimal(0)) == q.max_score


@pytest.mark.parametrize("code", sorted(set(QUESTION_CODES) - MULTIPLE_CHOICE))
def test_single_choice_has_no_exclusive_option(iset: IndicatorSet, code: str) -> None:
    q = iset.question_by_code[code]
    assert not any(o.exclusive for o in q.options)
    assert max(o.score for o in q.options) == q.max_score
    assert min(o.score for o in q.options) == Decimal(0)


def test_b4_scores_are_exact(iset: IndicatorSet) -> None:
    scores = {o.key: o.score for o in iset.question_by_code["B4"].options}
    assert scores["A"] == Decimal(0)
    assert all(scores[k] == Decimal("0.7") for k in "BCDEFGHIJKLMN")
    assert scores["O"] == Decimal("0.9")


@pytest.mark.parametrize(
    ("code", "inputs"),
    [
        ("B2", ("digital_equipment", "production_equipment_total")),
        ("B3", ("networked_equipment", "production_equipment_total")),
        ("M4", ("digital_investment_per_year", "revenue_last_year", "revenue_year_before")),
        ("R1", ("energy_last_year", "revenue_last_year", "energy_year_before",
                "revenue_year_before")),
        ("R3", ("revenue_last_year", "employees_last_year", "revenue_year_before",
                "employees_year_before")),
        ("R4", ("cost_last_year", "revenue_last_year", "cost_year_before",
                "revenue_year_before")),
    ],
)
def test_derivations(iset: IndicatorSet, code: str, inputs: tuple[str, ...]) -> None:
    derivation = iset.question_by_code[code].derivation
    assert derivation is not None
    assert derivation.inputs == inputs


def test_questions_without_derivation(iset: IndicatorSet) -> None:
    assert {q.code for q in iset.questions if q.derivation is None} == {
        "B1", "B4", "B5", "B6", "B7", "M1", "M2", "M3", "R2"}


def test_figures(iset: IndicatorSet) -> None:
    assert set(iset.figure_by_name) == {
        "production_equipment_total", "digital_equipment", "networked_equipment",
        "digital_investment_per_year", "energy_last_year", "energy_year_before", "pass_rate",
        "employees_last_year", "revenue_last_year", "employees_year_before",
        "revenue_year_before", "cost_last_year", "cost_year_before"}
    assert iset.figure_by_name["digital_equipment"].text == "实现数字化的生产设备数量（台）"


def test_scenes_match_data_file(iset: IndicatorSet) -> None:
    raw = raw_data()["business_scenes"]
    raw_scenes = [s for g in raw["groups"] for s in g["scenes"]]
    assert iset.max_scene_level == 4
    assert iset.unanswered_level_text == "未开展"
    for rs, scene in zip(raw_scenes, iset.scenes, strict=True):
        assert (scene.code, scene.name, scene.constraint) == (rs["code"], rs["name"],
                                                              rs["constraint"])
        assert scene.levels == {int(k): v for k, v in rs["levels"].items()}
        assert sorted(scene.levels) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("level", "name", "min_score", "scene_level", "min_scenes", "min_constraint"),
    [
        (1, "一级", 20, 1, 6, 3),
        (2, "二级", 40, 2, 6, 3),
        (3, "三级", 60, 3, 8, 5),
        (4, "四级", 80, 4, 10, 6),
    ],
    ids=["level-1", "level-2", "level-3", "level-4"],
)
def test_level_rules(iset: IndicatorSet, level: int, name: str, min_score: int,
                     scene_level: int, min_scenes: int, min_constraint: int) -> None:
    rule = iset.level_rule(level)
    assert rule is not None
    assert (rule.level, rule.name, rule.min_score, rule.scene_level, rule.min_scenes,
            rule.min_constraint_scenes) == (level, name, Decimal(min_score), scene_level,
                                            min_scenes, min_constraint)
    assert iset.level_name(level) == name


def test_below_level_one(iset: IndicatorSet) -> None:
    assert len(iset.level_rules) == 4
    assert iset.level_rule(0) is None
    assert iset.level_rule(5) is None
    assert iset.level_name(0) == "未达一级"
    assert iset.below_level_summary == "尚未达到一级的全部条件"


def test_unchanged_copy_parses() -> None:
    # the broken-copy tests below start from this; it must be valid as it is
    assert parse_indicator_set(raw_data()).codes == QUESTION_CODES + SCENE_CODES


# --- validation: broken copies of the data file ------------------------------------------


def _question(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(q for d in data["scored_part"]["dimensions"] for g in d["groups"]
                for q in g["questions"] if q["code"] == code)


def _group(data: dict[str, Any], title: str) -> dict[str, Any]:
    return next(g for d in data["scored_part"]["dimensions"] for g in d["groups"]
                if g["title"] == title)


def _dimension(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(d for d in data["scored_part"]["dimensions"] if d["code"] == code)


def _scene(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(s for g in data["business_scenes"]["groups"] for s in g["scenes"]
                if s["code"] == code)


def _rule(data: dict[str, Any], level: int) -> dict[str, Any]:
    return next(r for r in data["level_rules"]["levels"] if r["level"] == level)


def _option(data: dict[str, Any], code: str, key: str) -> dict[str, Any]:
    return next(o for o in _question(data, code)["options"] if o["key"] == key)


def _set(target: Callable[[dict[str, Any]], dict[str, Any]], key: str,
         value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        target(data)[key] = value
    return mutate


def _delete(target: Callable[[dict[str, Any]], Any], key: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        del target(data)[key]
    return mutate


def _remove_level_2(data: dict[str, Any]) -> None:
    data["level_rules"]["levels"] = [r for r in data["level_rules"]["levels"] if r["level"] != 2]


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], tuple[str, ...]]] = [
    ("duplicate-question-code",
     _set(lambda d: _question(d, "B3"), "code", "B2"), ("duplicate question code", "'B2'")),
    ("scene-code-same-as-question",
     _set(lambda d: _scene(d, "S02"), "code", "B5"), ("duplicate question code", "'B5'")),
    ("duplicate-scene-code",
     _set(lambda d: _scene(d, "S16"), "code", "S15"), ("duplicate question code", "'S15'")),
    ("duplicate-option-key",
     _set(lambda d: _option(d, "B4", "C"), "key", "B"), ("(B4)", "duplicate option key 'B'")),
    ("option-score-above-max",
     _set(lambda d: _option(d, "B2", "E"), "score", Decimal("6.5")),
     ("(B2).options[E]", "exceeds", "6.5")),
    ("multiple-option-score-above-max",
     _set(lambda d: _option(d, "B6", "C"), "score", Decimal("5.25")),
     ("(B6).options[C]", "exceeds")),
    ("single-max-not-best-option",
     _set(lambda d: _question(d, "B5"), "max_score", 11), ("(B5)", "max_score 11")),
    ("multiple-max-unreachable",
     _set(lambda d: _option(d, "M2", "E"), "score", Decimal("1.5")), ("(M2)", "cannot be reached")),
    ("group-max-not-sum",
     _set(lambda d: _group(d, "设备系统"), "max_score", 21), ("foundation.设备系统", "21", "20")),
    ("dimension-max-mismatch",
     _set(lambda d: _dimension(d, "management"), "max_score", 35), ("management", "35", "30")),
    ("total-max-mismatch",
     _set(lambda d: d["scored_part"], "max_score", 99), ("scored_part", "99", "100")),
    ("level-rules-gap", _remove_level_2, ("level_rules", "[1, 3, 4]")),
    ("level-repeated",
     _set(lambda d: _rule(d, 3), "level", 2), ("level_rules", "[1, 2, 2, 4]")),
    ("level-asks-less-score",
     _set(lambda d: _rule(d, 3), "min_score", 39), ("level 3", "less than level 2")),
    ("level-asks-lower-scene-level",
     _set(lambda d: _rule(d, 4), "scene_level", 2), ("level 4", "less than level 3")),
    ("level-asks-fewer-scenes",
     _set(lambda d: _rule(d, 4), "min_scenes", 7), ("level 4", "less than level 3")),
    ("level-asks-fewer-constraint-scenes",
     _set(lambda d: _rule(d, 2), "min_constraint_scenes", 2), ("level 2", "less than level 1")),
    ("constraint-above-min-scenes",
     _set(lambda d: _rule(d, 1), "min_constraint_scenes", 7),
     ("level 1", "min_constraint_scenes 7")),
    ("constraint-above-constraint-scenes",
     _set(lambda d: _rule(d, 4), "min_constraint_scenes", 11), ("level 4", "11")),
    ("min-score-above-maximum",
     _set(lambda d: _rule(d, 4), "min_score", 101), ("level 4", "101")),
    ("scene-level-above-described",
     _set(lambda d: _rule(d, 4), "scene_level", 5), ("level 4", "scene_level")),
    ("scene-level-description-empty",
     _set(lambda d: _scene(d, "S05")["levels"], "2", "  "), ("(S05)", "level 2")),
    ("scene-level-description-missing-middle",
     _delete(lambda d: _scene(d, "S05")["levels"], "2"), ("(S05)",)),
    ("scene-level-description-missing-last",
     _delete(lambda d: _scene(d, "S05")["levels"], "4"), ("scene S05", "3 levels")),
    ("derivation-unknown-figure",
     _set(lambda d: _question(d, "B2")["derive"], "numerator", ["digital_equipmnt"]),
     ("B2", "'digital_equipmnt'")),
    ("derivation-unknown-option-band",
     _set(lambda d: _question(d, "M4")["derive"]["bands"][0], "key", "Z"), ("(M4)", "'Z'")),
    ("derivation-unknown-option-outcome",
     _set(lambda d: _question(d, "R1")["derive"]["outcomes"], "up", "D"), ("(R1)", "'D'")),
    ("derivation-bands-not-increasing",
     _set(lambda d: _question(d, "B3")["derive"]["bands"][1], "max_percent", 5), ("(B3)", "bands")),
    ("figure-declared-twice",
     _set(lambda d: _question(d, "B3")["figures"][0], "name", "digital_equipment"),
     ("B3", "'digital_equipment'")),
    ("missing-set-id", _delete(lambda d: d, "id"), ("missing 'id'",)),
    ("missing-question-title", _delete(lambda d: _question(d, "B3"), "title"),
     ("(B3)", "missing 'title'")),
    ("missing-option-score", _delete(lambda d: _option(d, "R2", "B"), "score"),
     ("(R2).options[1]", "missing 'score'")),
    ("missing-question-max", _delete(lambda d: _question(d, "M3"), "max_score"),
     ("(M3)", "missing 'max_score'")),
    ("missing-scene-constraint", _delete(lambda d: _scene(d, "S07"), "constraint"),
     ("(S07)", "missing 'constraint'")),
    ("missing-rule-min-scenes", _delete(lambda d: _rule(d, 2), "min_scenes"),
     ("level 2", "missing 'min_scenes'")),
    ("missing-level-rules", _delete(lambda d: d, "level_rules"), ("missing 'level_rules'",)),
    ("wrong-type-question-type", _set(lambda d: _question(d, "B5"), "type", "ranking"),
     ("(B5)", "'ranking'")),
    ("score-as-text", _set(lambda d: _option(d, "B5", "C"), "score", "5"),
     ("(B5).options[2]", "'score'")),
    ("constraint-not-bool", _set(lambda d: _scene(d, "S09"), "constraint", 1),
     ("(S09)", "'constraint'")),
]


@pytest.mark.parametrize(("mutate", "expected"), [(m, e) for _, m, e in BROKEN],
                         ids=[name for name, _, _ in BROKEN])
def test_broken_copy_is_refused_naming_the_entry(mutate: Callable[[dict[str, Any]], None],
                                                 expected: tuple[str, ...]) -> None:
    data = raw_data()
    mutate(data)
    with pytest.raises(IndicatorSetError) as excinfo:
        parse_indicator_set(data)
    message = str(excinfo.value)
    assert message.startswith("miit-2024") or message.startswith("indicator set")
    for part in expected:
        assert part in message


# --- a second, hand-made set: the engine is generic ---------------------------------------


def tiny_set_data() -> dict[str, Any]:
    return {
        "id": "tiny-test",
        "name": "A tiny test set",
        "scored_part": {
            "max_score": 10,
            "dimensions": [{
                "code": "basics",
                "title": "Basics",
                "max_score": 10,
                "groups": [{
                    "title": "Tools",
                    "max_score": 10,
                    "questions": [
                        {"code": "Q1", "type": "single", "title": "Uses a computer",
                         "max_score": 4,
                         "options": [{"key": "N", "text": "no", "score": 0},
                                     {"key": "S", "text": "sometimes", "score": Decimal("1.5")},
                                     {"key": "Y", "text": "yes", "score": 4}]},
                        {"code": "Q2", "type": "multiple", "title": "Software in use",
                         "max_score": 6,
                         "options": [{"key": "X", "text": "none", "score": 0,
                                      "exclusive": True},
                                     {"key": "P", "text": "spreadsheets", "score": 2},
                                     {"key": "Q", "text": "accounting", "score": Decimal("2.5")},
                                     {"key": "R", "text": "ERP", "score": 3}]},
                    ],
                }],
            }],
        },
        "business_scenes": {
            "title": "Scenes",
            "unanswered_level_text": "not started",
            "groups": [{
                "title": "All",
                "scenes": [
                    {"code": "T1", "name": "Sales", "constraint": True,
                     "levels": {"1": "sales on paper", "2": "sales in software"}},
                    {"code": "T2", "name": "Stock", "constraint": True,
                     "levels": {"1": "stock on paper", "2": "stock in software"}},
                    {"code": "T3", "name": "Payroll", "constraint": False,
                     "levels": {"1": "payroll on paper", "2": "payroll in software"}},
                ],
            }],
        },
        "level_rules": {
            "below_level_name": "none",
            "below_level_summary": "nothing yet",
            "levels": [
                {"level": 1, "name": "basic", "min_score": 5, "scene_level": 1, "min_scenes": 2,
                 "min_constraint_scenes": 1, "summary": "getting started"},
                {"level": 2, "name": "good", "min_score": Decimal("8.5"), "scene_level": 2,
                 "min_scenes": 3, "min_constraint_scenes": 2, "summary": "well on the way"},
            ],
        },
    }


@pytest.fixture(scope="module")
def tiny() -> IndicatorSet:
    return parse_indicator_set(tiny_set_data())


def test_tiny_set_parses(tiny: IndicatorSet) -> None:
    assert tiny.id == "tiny-test"
    assert tiny.codes == ("Q1", "Q2", "T1", "T2", "T3")
    assert tiny.max_score == Decimal(10)
    assert tiny.max_scene_level == 2
    assert [r.level for r in tiny.level_rules] == [1, 2]
    assert tiny.issuer == ""


@pytest.mark.parametrize(
    ("answers", "total", "level", "level_name", "next_level", "points_missing", "scenes_missing"),
    [
        ({"Q1": "N", "Q2": ["X"], "T1": 0, "T2": 0, "T3": 0},
         Decimal(0), 0, "none", 1, Decimal(5), 2),
        ({"Q1": "S", "Q2": ["Q"], "T1": 1, "T2": 0, "T3": 1},
         Decimal(4), 0, "none", 1, Decimal(1), 0),
        ({"Q1": "S", "Q2": ["P", "Q"], "T1": 1, "T2": 0, "T3": 1},
         Decimal(6), 1, "basic", 2, Decimal("2.5"), 3),
        ({"Q1": "Y", "Q2": ["Q", "P"], "T1": 2, "T2": 2, "T3": 2},
         Decimal("8.5"), 2, "good", None, None, None),
        # three options add up to 7.5, capped at the question's 6
        ({"Q1": "Y", "Q2": ["P", "Q", "R"], "T1": 2, "T2": 2, "T3": 2},
         Decimal(10), 2, "good", None, None, None),
        ({"Q1": "Y", "Q2": ["P", "Q", "R"], "T1": 2, "T2": 1, "T3": 2},
         Decimal(10), 1, "basic", 2, Decimal(0), 1),
    ],
    ids=["nothing", "points-short", "level-1", "level-2-at-threshold", "level-2-capped",
         "constraint-short"],
)
def test_tiny_set_scores_with_the_generic_engine(
        tiny: IndicatorSet, answers: dict[str, Any], total: Decimal, level: int,
        level_name: str, next_level: int | None, points_missing: Decimal | None,
        scenes_missing: int | None) -> None:
    accepted, figures, problems = check_answers(tiny, answers)
    assert problems == []
    assert figures == {}
    result = assess(tiny, accepted)
    assert result.set_id == "tiny-test"
    assert result.total == total
    assert result.dimensions == {"basics": total}
    assert (result.level, result.level_name) == (level, level_name)
    if next_level is None:
        assert result.next_level is None
    else:
        assert result.next_level is not None
        assert result.next_level.level == next_level
        assert result.next_level.points_missing == points_missing
        assert result.next_level.scenes_missing == scenes_missing


def test_tiny_set_rejects_codes_of_another_set(tiny: IndicatorSet) -> None:
    answers = {"Q1": "Y", "Q2": ["A"], "T1": 2, "T2": 2, "T3": 3, "B1": ["A"]}
    _, _, problems = check_answers(tiny, answers)
    assert [(p.code, p.subject) for p in problems] == [
        ("unknown_option", "Q2"), ("scene_level_range", "T3"), ("unknown_question", "B1")]
