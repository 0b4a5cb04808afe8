"""The province's supply pool (供给资源库 / 服务商资源池) and which of its solutions fit an
enterprise after its result (小快轻准 matching). Pure: the shell loads the pool and the result.

Theory of operation
-------------------
A `Solution` is a provider's standard product: the scenes it lifts and to which level, the
industries it fits (sections such as ``C`` or divisions such as ``C13``; none: any), where its
provider serves (no city: the whole province), its price band, whether it can be tried for free
first, how it is deployed. A `Pool` indexes the solutions that are not retired by scene, so that
matching a result looks only at the solutions that lift a scene the enterprise has below their
target.

`match` reads a stored result (`flows.results.assessment_data`): each scene's level and the gap
to the next level (the scene level it asks for, how many scenes and constraint scenes are
missing). A solution is proposed when it fits the enterprise's industry and city and lifts at
least one of its scenes above the level it has. The ranking: the fewer scenes the next level
would still miss after it the earlier (then the more it supplies), then free trial, then a 领军
provider, then breadth (how many of the enterprise's scenes it lifts), then its id, so equal
inputs always give the same list.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from flows.indicators import IndicatorSet

Deployment: TypeAlias = Literal["cloud", "local", "both"]
MAX_PROPOSED = 3  # in the result message
MAX_LISTED = 10  # in 方案 and the mini-program's list
CALL_WITHIN_WORKING_DAYS = 3  # what the province asks of its providers after a 对接
_Rank: TypeAlias = tuple[int, bool, bool, int, int]  # see `match`


@dataclass(frozen=True, slots=True)
class Provider:
    credit_code: str
    name: str
    cities: tuple[str, ...] = ()  # where it serves; empty: the whole province
    contact_name: str | None = None
    contact_mobile: str | None = None
    leading: bool = False  # a 领军 provider of the province's list


@dataclass(frozen=True, slots=True)
class Solution:
    id: int
    title: str
    summary: str
    provider: Provider
    lifts: Mapping[str, int]  # scene code -> the level the solution brings it to
    industries: tuple[str, ...] = ()  # sections ("C") or divisions ("C13"); empty: any
    price: str = ""  # the price band as the pool writes it
    free_trial: bool = False  # 先免费试用再购买
    deployment: Deployment = "cloud"
    link: str | None = None
    retired: bool = False  # never proposed again; still in the history of leads


@dataclass(frozen=True, slots=True)
class SceneLift:
    """One of the enterprise's scenes the solution lifts: from `level` to `target`."""

    code: str
    name: str
    constraint: bool
    level: int
    target: int


@dataclass(frozen=True, slots=True)
class Match:
    solution: Solution
    lifts: tuple[SceneLift, ...]  # the most useful first (toward the next level, then by code)
    supplies: int  # of the scenes the next level still misses, how many it would bring there
    next_level: int | None  # the level above the result's; None at the highest
    remaining: int  # scenes the next level would still miss after this solution


@dataclass(frozen=True, slots=True)
class Pool:
    """The solutions that may be proposed, indexed by (scene, city, industry) with ``*`` for
    "any", so that matching visits only the solutions that fit the enterprise."""

    solutions: Mapping[int, Solution]
    index: Mapping[tuple[str, str, str], tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, solutions: Iterable[Solution]) -> Pool:
        live = {s.id: s for s in solutions if not s.retired and s.lifts}
        index: dict[tuple[str, str, str], list[int]] = {}
        for solution in live.values():
            for code in solution.lifts:
                for city in solution.provider.cities or ("*",):
                    for industry in solution.industries or ("*",):
                        index.setdefault((code, city, industry), []).append(solution.id)
        return cls(live, {key: tuple(ids) for key, ids in index.items()})

    def candidates(self, scenes: Iterable[str], enterprise: Enterprise) -> set[int]:
        """The ids of the solutions that lift one of `scenes` and fit `enterprise`."""
        industries = ["*", enterprise.industry]
        if enterprise.industry_division is not None:
            industries.append(enterprise.industry + enterprise.industry_division)
        found: set[int] = set()
        for code in scenes:
            for city in ("*", enterprise.city):
                for industry in industries:
                    found.update(self.index.get((code, city, industry), ()))
        return found


@dataclass(frozen=True, slots=True)
class Enterprise:
    """What matching needs of the enterprise: its industry and city."""

    industry: str
    city: str
    industry_division: str | None = None


def match(pool: Pool, iset: IndicatorSet, result: Mapping[str, Any], enterprise: Enterprise,
          *, limit: int | None = None) -> tuple[Match, ...]:
    """The solutions of `pool` that fit `enterprise` after `result` (its stored data), best
    first; at most `limit`."""
    levels = {scene["code"]: int(scene["level"]) for scene in result["scenes"]}
    gap = result.get("next_level")
    wanted = iset.max_scene_level + 1 if gap is None else int(gap["scene_level"])
    scenes_missing = 0 if gap is None else int(gap["scenes_missing"])
    constraint_missing = 0 if gap is None else int(gap["constraint_scenes_missing"])
    missing = max(scenes_missing, constraint_missing)
    constraint = {scene.code for scene in iset.scenes if scene.constraint}
    below_top = [code for code, level in levels.items() if level < iset.max_scene_level]
    ranked: list[tuple[_Rank, Solution]] = []
    for solution_id in pool.candidates(below_top, enterprise):
        solution = pool.solutions[solution_id]
        lifted = toward = constraint_toward = 0
        for code, target in solution.lifts.items():
            level = levels.get(code)
            if level is None or target <= level:
                continue
            lifted += 1
            if level < wanted <= target:
                toward += 1
                constraint_toward += code in constraint
        if not lifted:
            continue
        remaining = max(scenes_missing - toward, constraint_missing - constraint_toward, 0)
        ranked.append(((remaining, not solution.free_trial, not solution.provider.leading,
                        -lifted, solution.id), solution))
    chosen = (heapq.nsmallest(limit, ranked, key=_rank) if limit is not None
              else sorted(ranked, key=_rank))
    next_level = None if gap is None else int(gap["level"])
    return tuple(_match(iset, solution, levels, wanted, key[0], missing - key[0], next_level)
                 for key, solution in chosen)


def _rank(item: tuple[_Rank, Solution]) -> _Rank:
    return item[0]


def _match(iset: IndicatorSet, solution: Solution, levels: Mapping[str, int], wanted: int,
           remaining: int, supplies: int, next_level: int | None) -> Match:
    lifts = sorted((_lift(iset, code, levels[code], target)
                    for code, target in solution.lifts.items()
                    if code in levels and target > levels[code]),
                   key=lambda lift: (not lift.level < wanted <= lift.target, lift.code))
    return Match(solution, tuple(lifts), supplies, next_level, remaining)


def _lift(iset: IndicatorSet, code: str, level: int, target: int) -> SceneLift:
    scene = iset.scene_by_code[code]
    return SceneLift(code, scene.name, scene.constraint, level, target)
