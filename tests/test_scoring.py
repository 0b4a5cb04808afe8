"""Scoring the shipped set: exact totals at every threshold, scene rules, the gap, suggestions."""

from __future__ import annotations

import copy
import json
import random
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from bot.translations import translator
from flows.answers import Answer, check_answers
from flows.i18n import PLAIN
from flows.indicators import IndicatorSet, builtin_sets, decode, parse_indicator_set
from flows.scoring import MAX_SUGGESTIONS, Assessment, assess, number_text

CONSTRAINT = ("S01", "S03", "S06", "S07", "S08", "S09", "S10", "S11", "S12", "S13")
NON_CONSTRAINT = ("S02", "S04", "S05", "S14", "S15", "S16")
SCENES = tuple(f"S{i:02d}" for i in range(1, 17))

# Every question at its lowest option, and every question at its best.
ZERO: dict[str, Any] = {
    "B1": ["A"], "B2": "A", "B3": "A", "B4": ["A"], "B5": "A", "B6": ["A"], "B7": ["A"],
    "M1": "A", "M2": ["A"], "M3": ["A"], "M4": "A", "R1": "A", "R2": "A", "R3": "A", "R4": "A",
}
FULL: dict[str, Any] = {
    "B1": list("BCDE"), "B2": "E", "B3": "E", "B4": list("BCDEFGHIJKLMNO"), "B5": "E",
    "B6": list("BCDE"), "B7": list("BCDE"), "M1": "F", "M2": list("BCDE"), "M3": list("BCDEF"),
    "M4": "E", "R1": "C", "R2": "C", "R3": "C", "R4": "C",
}
TEN_07 = list("BCDEFGHIJK")  # ten B4 options of 0.7: exactly 7
NINE_07 = TEN_07[:-1]  # one 0.7 option less: exactly 6.3

# Totals exactly at each level's min_score, built on ten 0.7-point B4 options.
AT_20 = {**ZERO, "B4": TEN_07, "B5": "E", "R3": "C"}  # 7 + 10 + 3
AT_40 = {**AT_20, "B1": list("BCDE"), "B2": "E", "B3": "E"}  # 20 + 8 + 6 + 6
AT_60 = {**AT_40, "M1": "F", "M4": "E", "R2": "B", "R4": "B"}  # 40 + 7.5 + 7.5 + 3.5 + 1.5
AT_80 = {**FULL, "B4": TEN_07, "R1": "A", "R2": "A", "R3": "A"}  # 100 - 3 - 7 - 7 - 3


@pytest.fixture(scope="module")
def iset() -> IndicatorSet:
    return builtin_sets()["miit-2024"]


@pytest.fixture(scope="module")
def raw_scenes() -> dict[str, dict[str, Any]]:
    """Scenes as the data file has them, read independently of the loader."""
    data = json.loads(resources.files("flows.sets").joinpath("miit-2024.json").read_text("utf-8"))
    return {s["code"]: s for g in data["business_scenes"]["groups"] for s in g["scenes"]}


def scenes(default: int = 0, **levels: int) -> dict[str, int]:
    return {code: levels.get(code, default) for code in SCENES}


def accepted(iset: IndicatorSet, questions: dict[str, Any],
             scene_levels: dict[str, int]) -> dict[str, Answer]:
    answers, _figures, problems = check_answers(iset, {**questions, **scene_levels})
    assert problems == []
    return answers


def run(iset: IndicatorSet, questions: dict[str, Any], scene_levels: dict[str, int],
        ) -> Assessment:
    return assess(iset, accepted(iset, questions, scene_levels))


# --- exact totals and the score thresholds -----------------------------------------------


@pytest.mark.parametrize(
    ("questions", "total", "level"),
    [
        (ZERO, "0", 0),
        (AT_20, "20", 1),
        ({**AT_20, "B4": NINE_07}, "19.3", 0),
        (AT_40, "40", 2),
        ({**AT_40, "B4": NINE_07}, "39.3", 1),
        (AT_60, "60", 3),
        ({**AT_60, "B4": NINE_07}, "59.3", 2),
        (AT_80, "80", 4),
        ({**AT_80, "B4": NINE_07}, "79.3", 3),
        (FULL, "100", 4),
    ],
    ids=["zero", "20", "20-minus-0.7", "40", "40-minus-0.7", "60", "60-minus-0.7", "80",
         "80-minus-0.7", "full"],
)
def test_score_threshold(iset: IndicatorSet, questions: dict[str, Any], total: str,
                         level: int) -> None:
    # every scene at the top level: only the score decides
    result = run(iset, questions, scenes(4))
    assert result.total == Decimal(total)
    assert number_text(result.total) == total
    assert sum(result.dimensions.values(), Decimal(0)) == result.total
    assert result.level == level
    assert result.level_name == iset.level_name(level)


@pytest.mark.parametrize(
    ("keys", "score"),
    [
        (["A"], "0"),
        (["B"], "0.7"),
        (TEN_07, "7"),
        (NINE_07, "6.3"),
        (list("BCDEFGHIJKLMN"), "9.1"),
        (list("BCDEFGHIJKLMNO"), "10"),
        (["O", "B"], "1.6"),
    ],
    ids=["none", "one", "ten", "nine", "all-0.7", "all", "mixed"],
)
def test_b4_score_is_exact(iset: IndicatorSet, keys: list[str], score: str) -> None:
    result = run(iset, {**ZERO, "B4": keys}, scenes(0))
    assert result.question_scores["B4"] == Decimal(score)
    assert number_text(result.question_scores["B4"]) == score
    assert result.total == Decimal(score)
    assert result.dimensions["foundation"] == Decimal(score)


def test_dimension_and_group_scores(iset: IndicatorSet) -> None:
    result = run(iset, AT_60, scenes(0))
    assert result.dimensions == {"foundation": Decimal(37), "management": Decimal(15),
                                 "effectiveness": Decimal(8)}
    assert [(g.title, g.score, g.max_score) for g in result.groups] == [
        ("设备系统", Decimal(20), Decimal(20)), ("数据采集", Decimal(7), Decimal(10)),
        ("信息系统", Decimal(10), Decimal(10)), ("信息安全", Decimal(0), Decimal(10)),
        ("规划管理", Decimal("7.5"), Decimal(15)), ("要素保障", Decimal("7.5"), Decimal(15)),
        ("绿色低碳", Decimal(0), Decimal(7)), ("产品质量", Decimal("3.5"), Decimal(7)),
        ("市场效益", Decimal("4.5"), Decimal(6))]
    assert result.max_score == Decimal(100)


def test_fractional_scores_stay_exact(iset: IndicatorSet) -> None:
    # 1.875 + 1.875 + 1.875 (M2) + 1.875 (M4 B) + 1.25 (B6) + 1.5 (M3) = 10.25
    result = run(iset, {**ZERO, "M2": ["B", "C", "D"], "M4": "B", "B6": ["E"], "M3": ["F"]},
                 scenes(0))
    assert result.question_scores["M2"] == Decimal("5.625")
    assert result.total == Decimal("10.25")
    assert number_text(result.dimensions["management"]) == "9"


# --- multiple choice capped at the question's maximum ------------------------------------


@pytest.fixture(scope="module")
def generous_set() -> IndicatorSet:
    """The shipped set with B4's option O worth 1.9, so B4's options add up to 11 (max 10)."""
    data = copy.deepcopy(decode(resources.files("flows.sets").joinpath("miit-2024.json")
                                .read_bytes()))
    b4 = next(q for d in data["scored_part"]["dimensions"] for g in d["groups"]
              for q in g["questions"] if q["code"] == "B4")
    next(o for o in b4["options"] if o["key"] == "O")["score"] = Decimal("1.9")
    return parse_indicator_set(data)


@pytest.mark.parametrize(
    ("keys", "score"),
    [
        (list("BCDEFGHIJKLMNO"), "10"),  # 9.1 + 1.9 = 11, capped
        (list("BCDEFGHIJKLMO"), "10"),  # 8.4 + 1.9 = 10.3, capped
        (list("BCDEFGHIJKLO"), "9.6"),  # 7.7 + 1.9, below the cap
        (list("BCDEFGHIJO"), "8.2"),
    ],
    ids=["all-11-capped", "10.3-capped", "9.6-kept", "8.2-kept"],
)
def test_multiple_choice_capped_at_max(generous_set: IndicatorSet, keys: list[str],
                                       score: str) -> None:
    result = run(generous_set, {**ZERO, "B4": keys}, scenes(0))
    assert result.question_scores["B4"] == Decimal(score)
    assert result.groups[1].score == Decimal(score)
    assert result.total == Decimal(score)


def test_capped_total_never_exceeds_maximum(generous_set: IndicatorSet) -> None:
    result = run(generous_set, FULL, scenes(4))
    assert result.total == Decimal(100)
    assert result.level == 4


# --- scene counts and constraint counts at each level -----------------------------------

RULES = {1: (6, 3), 2: (6, 3), 3: (8, 5), 4: (10, 6)}  # level: (min_scenes, min_constraint)


def _scene_case(level: int, variant: str, background: int) -> dict[str, int]:
    min_scenes, min_constraint = RULES[level]
    constraint = min_constraint - (variant == "one-constraint-fewer")
    others = min_scenes - constraint - (variant == "one-scene-fewer")
    chosen = CONSTRAINT[:constraint] + NON_CONSTRAINT[:others]
    return scenes(background, **dict.fromkeys(chosen, level))


SCENE_CASES = [
    (level, variant, background, level if variant == "exact" else level - 1)
    for level in (1, 2, 3, 4)
    for variant, background in [*(("exact", b) for b in sorted({0, level - 1})),
                                ("one-scene-fewer", level - 1),
                                ("one-constraint-fewer", level - 1)]
]


@pytest.mark.parametrize(
    ("level", "variant", "background", "expected"), SCENE_CASES,
    ids=[f"level-{lv}-{v}-others-at-{b}" for lv, v, b, _ in SCENE_CASES],
)
def test_scene_rules_at_threshold(iset: IndicatorSet, level: int, variant: str,
                                  background: int, expected: int) -> None:
    min_scenes, min_constraint = RULES[level]
    scene_levels = _scene_case(level, variant, background)
    result = run(iset, FULL, scene_levels)  # 100 points: only the scenes decide
    count = result.scene_counts[level]
    assert count.level == level
    assert count.scenes_at_least == min_scenes - (variant == "one-scene-fewer")
    assert count.constraint_scenes_at_least == min_constraint - (
        variant == "one-constraint-fewer")
    assert result.level == expected
    gap = result.next_level
    if variant == "exact":
        if level == 4:
            assert gap is None
        else:
            assert gap is not None and gap.level == level + 1
    else:
        assert gap is not None
        assert (gap.level, gap.points_missing) == (level, Decimal(0))
        assert (gap.scenes_missing, gap.constraint_scenes_missing) == (
            (1, 0) if variant == "one-scene-fewer" else (0, 1))
        assert len(gap.scenes_to_lift) == 1
        lift = gap.scenes_to_lift[0]
        assert (lift.level, lift.target, lift.steps) == (background, level, 1)
        assert lift.constraint  # constraint scenes first among equally cheap ones


def test_scene_counts_by_level(iset: IndicatorSet) -> None:
    result = run(iset, ZERO, scenes(0, S01=4, S02=3, S03=3, S04=1, S05=1, S06=1, S14=2))
    assert [tuple(c) for c in result.scene_counts] == [
        # level, exactly, constraint exactly, at least, constraint at least
        (0, 9, 7, 16, 10),
        (1, 3, 1, 7, 3),
        (2, 1, 0, 4, 2),
        (3, 2, 1, 3, 2),
        (4, 1, 1, 1, 1),
    ]
    assert list(result.scene_levels) == list(SCENES)
    assert result.scene_levels["S02"] == 3


# --- the gap to the next level ------------------------------------------------------------


@pytest.mark.parametrize(
    ("questions", "scene_levels", "level", "gap"),
    [
        # 0.7 points short of level 3, scenes already enough
        ({**AT_60, "B4": NINE_07}, scenes(4), 2, (3, "0.7", 0, 0, ())),
        ({**AT_20, "B4": NINE_07}, scenes(4), 0, (1, "0.7", 0, 0, ())),
        ({**AT_80, "B4": ["B"]}, scenes(4), 3, (4, "6.3", 0, 0, ())),
        # both scene counts short: the three cheapest constraint scenes cover both
        (FULL, scenes(0, S01=3, S02=3, S03=3, S04=3, S05=3, S06=2, S07=2, S08=1, S14=2,
                      S15=2, S16=2),
         2, (3, "0", 3, 3, (("S06", 2), ("S07", 2), ("S08", 1)))),
        # only the count short: the cheapest scenes, constraint first among equals
        (FULL, scenes(0, S01=3, S03=3, S06=3, S07=3, S08=3, S02=2, S05=2, S09=2, S04=1,
                      S10=1),
         2, (3, "0", 3, 0, (("S09", 2), ("S02", 2), ("S05", 2)))),
        # one constraint scene and two scenes short: the cheapest constraint scene (2 steps)
        # plus the cheapest other scene (1 step), not two constraint scenes
        (FULL, scenes(0, S01=3, S03=3, S06=3, S07=3, S02=3, S04=3, S05=2, S14=2, S08=1,
                      S09=1),
         2, (3, "0", 2, 1, (("S05", 2), ("S08", 1)))),
        # only the constraint count short: one constraint scene, though S02 is closer
        (FULL, scenes(0, S01=4, S03=4, S06=4, S07=4, S08=4, S02=4, S04=4, S05=4, S14=4,
                      S15=4, S16=3, S09=2),
         3, (4, "0", 0, 1, (("S09", 2),))),
        # points, scenes and constraint scenes all short
        (ZERO, scenes(0), 0, (1, "20", 6, 3, (("S01", 0), ("S03", 0), ("S06", 0),
                                                ("S07", 0), ("S08", 0), ("S09", 0)))),
        ({**AT_40, "B4": NINE_07}, scenes(1, S02=2, S04=2, S05=2, S14=2, S15=2, S16=2),
         1, (2, "0.7", 0, 3, (("S01", 1), ("S03", 1), ("S06", 1)))),
    ],
    ids=["points-only-to-3", "points-only-to-1", "points-only-to-4", "scenes-and-constraint",
         "scenes-only", "one-constraint-two-scenes", "constraint-only", "everything",
         "points-and-constraint"],
)
def test_gap(iset: IndicatorSet, questions: dict[str, Any], scene_levels: dict[str, int],
             level: int, gap: tuple[Any, ...]) -> None:
    next_level, points, scenes_missing, constraint_missing, lift = gap
    result = run(iset, questions, scene_levels)
    assert result.level == level
    g = result.next_level
    assert g is not None
    rule = iset.level_rule(next_level)
    assert rule is not None
    assert (g.level, g.name, g.min_score, g.scene_level) == (
        next_level, rule.name, rule.min_score, rule.scene_level)
    assert g.points_missing == Decimal(points)
    assert g.scenes_missing == scenes_missing
    assert g.constraint_scenes_missing == constraint_missing
    assert tuple((s.code, s.level) for s in g.scenes_to_lift) == lift
    for s in g.scenes_to_lift:
        assert s.target == rule.scene_level
        assert s.name == iset.scene_by_code[s.code].name
        assert s.constraint == iset.scene_by_code[s.code].constraint


def _cheapest_possible(scene_levels: dict[str, int], target: int, scenes_missing: int,
                       constraint_missing: int) -> int:
    """The fewest level steps that close both scene counts, by trying every constraint share."""
    constraint = sorted(target - lv for c, lv in scene_levels.items()
                        if lv < target and c in CONSTRAINT)
    others = sorted(target - lv for c, lv in scene_levels.items()
                    if lv < target and c not in CONSTRAINT)
    return min(sum(constraint[:j]) + sum(others[:max(0, scenes_missing - j)])
               for j in range(constraint_missing, len(constraint) + 1)
               if max(0, scenes_missing - j) <= len(others))


@pytest.mark.parametrize("seed", range(30))
def test_scenes_to_lift_is_sufficient_and_cheapest(iset: IndicatorSet, seed: int) -> None:
    rng = random.Random(seed)
    # levels up to 3 only, so level 4 is never reached and there is always a next level
    scene_levels = {code: rng.choice((0, 1, 1, 2, 2, 3, 3, 3)) for code in SCENES}
    gap = run(iset, FULL, scene_levels).next_level
    assert gap is not None
    rule = iset.level_rule(gap.level)
    assert rule is not None
    lifted = {**scene_levels, **{s.code: s.target for s in gap.scenes_to_lift}}
    reached = [c for c, lv in lifted.items() if lv >= rule.scene_level]
    assert len(reached) >= rule.min_scenes
    assert len([c for c in reached if c in CONSTRAINT]) >= rule.min_constraint_scenes
    steps = sum(s.steps for s in gap.scenes_to_lift)
    assert steps == _cheapest_possible(scene_levels, rule.scene_level, gap.scenes_missing,
                                       gap.constraint_scenes_missing)
    assert (not gap.scenes_to_lift) == (gap.scenes_missing == gap.constraint_scenes_missing == 0)


@pytest.mark.parametrize("questions", [AT_80, FULL], ids=["80", "full"])
def test_no_next_level_at_level_4(iset: IndicatorSet, questions: dict[str, Any]) -> None:
    result = run(iset, questions, scenes(4))
    assert result.level == 4
    assert result.level_name == "四级"
    assert result.next_level is None


def test_level_summary(iset: IndicatorSet) -> None:
    assert run(iset, ZERO, scenes(0)).level_summary == "尚未达到一级的全部条件"
    rule = iset.level_rule(2)
    assert rule is not None
    assert run(iset, AT_40, scenes(4)).level_summary == rule.summary


# --- suggestions --------------------------------------------------------------------------

SUGGESTION_CASES = {
    "nothing-done": (ZERO, scenes(0)),
    "points-only": ({**AT_60, "B4": NINE_07}, scenes(4)),
    "scenes-only": (FULL, scenes(0, S01=3, S02=3, S03=3, S04=3, S05=3, S06=2, S07=2, S08=1,
                                 S14=2, S15=2, S16=2)),
    "points-and-constraint": ({**AT_40, "B4": NINE_07},
                              scenes(1, S02=2, S04=2, S05=2, S14=2, S15=2, S16=2)),
    "level-4-room-left": (AT_80, scenes(4, S16=2, S15=3)),
    "level-4-room-in-points": (AT_80, scenes(4)),
    "mixed-levels": ({**AT_20, "M3": ["B", "D"], "B6": ["C"]},
                     scenes(0, S01=1, S02=2, S03=1, S09=1, S10=3, S11=1)),
}


@pytest.mark.parametrize("case", list(SUGGESTION_CASES))
def test_suggestions_reference_real_data(iset: IndicatorSet,
                                         raw_scenes: dict[str, dict[str, Any]],
                                         case: str) -> None:
    questions, scene_levels = SUGGESTION_CASES[case]
    answers = accepted(iset, questions, scene_levels)
    result = assess(iset, answers)
    assert 1 <= len(result.suggestions) <= MAX_SUGGESTIONS
    zh = translator("zh_CN")
    for s in result.suggestions:
        texts = (s.render(PLAIN), s.render(zh))
        if s.kind == "scene":
            raw = raw_scenes[s.code]
            target = scene_levels[s.code] + 1
            assert s.target == str(target)
            assert (s.subject, s.action) == (raw["name"], raw["levels"][str(target)])
            for text in texts:
                assert raw["name"] in text
                assert raw["levels"][str(target)] in text
        else:
            q = iset.question_by_code[s.code]
            option = q.option_by_key[s.target]
            assert s.kind == q.type
            assert (s.subject, s.question, s.action) == (q.group, q.title, option.text)
            assert not option.exclusive
            if q.type == "single":
                assert option.score > result.question_scores[q.code]
            else:
                assert s.target not in answers[q.code]
            for text in texts:
                assert q.title in text
                assert option.text in text
                assert q.group in text
    assert result.suggestions[0].render(zh).startswith(("将「", "提升「"))


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # only points missing: groups, weakest share first (信息安全 0/10, 绿色低碳 0/7,
        # 规划管理 7.5/15 before 要素保障 7.5/15 by data order)
        ("points-only", [("multiple", "B6", "B"), ("single", "R1", "B"), ("multiple", "M2", "B")]),
        # only scenes missing: scene suggestions only, each to its next level
        ("scenes-only", [("scene", "S06", "3"), ("scene", "S07", "3"), ("scene", "S08", "2")]),
        # points and scenes missing: scenes lead, groups alternate in
        ("nothing-done", [("scene", "S01", "1"), ("multiple", "B1", "B"), ("scene", "S03", "1")]),
        # level 4 with every scene at the top: the weakest groups
        ("level-4-room-in-points", [("single", "R1", "B"), ("single", "R2", "B"),
                                    ("single", "R3", "B")]),
        # level 4: the scenes still below the top, then a group
        ("level-4-room-left", [("scene", "S15", "4"), ("single", "R1", "B"),
                               ("scene", "S16", "3")]),
    ],
)
def test_suggestion_choice(iset: IndicatorSet, case: str,
                           expected: list[tuple[str, str, str]]) -> None:
    questions, scene_levels = SUGGESTION_CASES[case]
    result = run(iset, questions, scene_levels)
    assert [(s.kind, s.code, s.target) for s in result.suggestions] == expected


def test_points_only_gives_group_suggestions_first(iset: IndicatorSet) -> None:
    result = run(iset, *SUGGESTION_CASES["points-only"])
    assert result.next_level is not None
    assert result.next_level.points_missing > 0
    assert result.next_level.scenes_missing == 0
    assert result.next_level.constraint_scenes_missing == 0
    assert result.suggestions[0].kind != "scene"
    assert all(s.kind != "scene" for s in result.suggestions)


def test_scenes_only_gives_only_scene_suggestions(iset: IndicatorSet) -> None:
    result = run(iset, *SUGGESTION_CASES["scenes-only"])
    assert result.next_level is not None
    assert result.next_level.points_missing == 0
    assert all(s.kind == "scene" for s in result.suggestions)


def test_nothing_to_suggest_at_the_very_top(iset: IndicatorSet) -> None:
    result = run(iset, FULL, scenes(4))
    assert result.suggestions == ()


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh_CN", "提升「信息安全」（当前 0/10 分）：企业在保障网络安全方面采取的举措，"
                  "增加「建立了网络安全管理制度」"),
        ("en", "Raise 「信息安全」 (0 of 10 points): 企业在保障网络安全方面采取的举措, "
               "add 「建立了网络安全管理制度」"),
    ],
)
def test_group_suggestion_rendering(iset: IndicatorSet, locale: str, expected: str) -> None:
    result = run(iset, *SUGGESTION_CASES["points-only"])
    assert result.suggestions[0].render(translator(locale)) == expected


def test_scene_suggestion_rendering(iset: IndicatorSet,
                                    raw_scenes: dict[str, dict[str, Any]]) -> None:
    result = run(iset, *SUGGESTION_CASES["scenes-only"])
    text = result.suggestions[2].render(translator("zh_CN"))
    assert text == f"将「设备管理」场景提升至 2 级：{raw_scenes['S08']['levels']['2']}"
