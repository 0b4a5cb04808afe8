"""Matching the pool's solutions to a result, with plain function calls: industry and city,
retired solutions, scenes already at the solution's level, no match, and the ranking."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from flows.answers import check_answers
from flows.i18n import PLAIN
from flows.indicators import DEFAULT_SET_ID, builtin_sets
from flows.results import assessment_data
from flows.scoring import assess
from flows.solutions import Enterprise, Pool, Provider, Solution, match

ISET = builtin_sets()[DEFAULT_SET_ID]
# Scores well above 二级's; the scenes decide.
GOOD = ["BCD", "E", "E", "BCDEFGHI", "D", "BCD", "BCD", "E", "BCDE", "BCD", "C", "C", "C", "C",
        "C"]
JINAN = Enterprise(industry="C", industry_division="13", city="济南市")
ANYWHERE = Provider("91370100MA0000001X", "鲁信云")


def result(scenes: Mapping[str, int], default: int = 1) -> dict[str, Any]:
    """The stored data of an assessment with these scene levels (the others at `default`)."""
    raw: dict[str, Any] = {}
    for question, answer in zip(ISET.questions, GOOD, strict=True):
        raw[question.code] = list(answer) if question.type == "multiple" else answer
    raw.update({scene.code: scenes.get(scene.code, default) for scene in ISET.scenes})
    answers, _figures, problems = check_answers(ISET, raw)
    assert problems == []
    return assessment_data(ISET, assess(ISET, answers), PLAIN)


# 5 scenes at level 2, 3 of them constraint scenes: 二级 misses one more scene at level 2.
ONE_SHORT = result({"S01": 2, "S03": 2, "S06": 2, "S02": 2, "S04": 2})


def solution(id_: int, lifts: Mapping[str, int], **changes: Any) -> Solution:
    return replace(Solution(id=id_, title=f"方案{id_}", summary="", provider=ANYWHERE,
                            lifts=dict(lifts)), **changes)


def ids(found: tuple[Any, ...]) -> list[int]:
    return [m.solution.id for m in found]


def test_the_result_misses_one_scene_for_the_next_level() -> None:
    gap = ONE_SHORT["next_level"]
    assert (ONE_SHORT["level"], gap["level"], gap["scene_level"]) == (1, 2, 2)
    assert (gap["scenes_missing"], gap["constraint_scenes_missing"]) == (1, 0)


@pytest.mark.parametrize(("changes", "proposed"), [
    ({}, True),
    ({"industries": ("C",)}, True),
    ({"industries": ("C13",)}, True),
    ({"industries": ("C14",)}, False),  # another manufacturing division
    ({"industries": ("F", "C34")}, False),
    ({"provider": replace(ANYWHERE, cities=("济南市", "淄博市"))}, True),
    ({"provider": replace(ANYWHERE, cities=("青岛市",))}, False),
    ({"retired": True}, False),
])
def test_industry_city_and_retired(changes: dict[str, Any], proposed: bool) -> None:
    pool = Pool.of([solution(1, {"S05": 2}, **changes)])
    assert ids(match(pool, ISET, ONE_SHORT, JINAN)) == ([1] if proposed else [])


def test_a_scene_already_at_the_solutions_level_is_not_a_reason() -> None:
    pool = Pool.of([solution(1, {"S01": 2}), solution(2, {"S01": 3}), solution(3, {"S02": 1})])
    found = match(pool, ISET, ONE_SHORT, JINAN)
    assert ids(found) == [2]  # S01 is at 2 already; S02 too (a lower target is no lift)
    [lift] = found[0].lifts
    assert (lift.code, lift.name, lift.level, lift.target) == ("S01", "产品设计", 2, 3)


def test_no_match() -> None:
    assert match(Pool.of([]), ISET, ONE_SHORT, JINAN) == ()
    at_top = result({}, default=ISET.max_scene_level)
    assert match(Pool.of([solution(1, {"S05": 4})]), ISET, at_top, JINAN) == ()


def test_what_closes_the_gap_comes_first_then_free_trial_then_leading_then_breadth() -> None:
    leading = replace(ANYWHERE, leading=True)
    pool = Pool.of([
        solution(1, {"S14": 1}),  # level 1 already: no lift at all
        solution(2, {"S05": 3, "S07": 3, "S08": 3}),  # closes the gap, three scenes
        solution(3, {"S05": 2}),  # closes the gap
        solution(4, {"S05": 2}, free_trial=True),
        solution(5, {"S05": 2}, provider=leading),
        solution(6, {"S05": 2}, provider=leading, free_trial=True),
        solution(7, {"S01": 4, "S02": 4, "S03": 4}),  # scenes at 2 already: does not close it
    ])
    found = match(pool, ISET, ONE_SHORT, JINAN)
    assert ids(found) == [6, 4, 5, 2, 3, 7]
    assert [(m.supplies, m.remaining) for m in found] == [(1, 0)] * 5 + [(0, 1)]
    assert found[0].next_level == 2
    assert [lift.code for lift in found[3].lifts] == ["S05", "S07", "S08"]
    assert ids(match(pool, ISET, ONE_SHORT, JINAN, limit=3)) == [6, 4, 5]


def test_lifts_toward_the_next_level_come_first() -> None:
    far = result({"S01": 2, "S03": 2, "S06": 2, "S02": 2, "S04": 2, "S16": 0})
    pool = Pool.of([solution(1, {"S16": 3, "S15": 2, "S14": 4})])
    [found] = match(pool, ISET, far, JINAN)
    assert [(lift.code, lift.level, lift.target) for lift in found.lifts] == [
        ("S14", 1, 4), ("S15", 1, 2), ("S16", 0, 3)]
    assert (found.supplies, found.remaining) == (1, 0)


def test_constraint_scenes_count_for_what_remains() -> None:
    # 6 scenes at 2, only 2 of them constraint scenes: 二级 misses one constraint scene.
    short_of_constraint = result({"S01": 2, "S03": 2, "S02": 2, "S04": 2, "S05": 2, "S14": 2})
    gap = short_of_constraint["next_level"]
    assert (gap["scenes_missing"], gap["constraint_scenes_missing"]) == (0, 1)
    pool = Pool.of([solution(1, {"S15": 2}), solution(2, {"S06": 2})])  # S06 is a constraint
    found = match(pool, ISET, short_of_constraint, JINAN)
    assert ids(found) == [2, 1]
    assert [(m.supplies, m.remaining) for m in found] == [(1, 0), (0, 1)]


def test_the_same_inputs_give_the_same_list() -> None:
    pool = Pool.of([solution(n, {"S05": 2, "S10": 2 + n % 2}) for n in range(40, 0, -1)])
    first = match(pool, ISET, ONE_SHORT, JINAN)
    assert first == match(Pool.of(reversed(list(pool.solutions.values()))), ISET, ONE_SHORT,
                          JINAN)
    assert ids(first) == list(range(1, 41))  # all alike in rank: by id
