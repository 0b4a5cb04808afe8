"""The figures a department reports upward, from each enterprise's status and latest
submission: progress, the level distribution and the share at 二级 or above by city, county and
industry, average scores per dimension, and the scenes most often below level 2 (what to train,
which solutions to offer). Pure: the shell streams the enterprises in and renders the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flows.statuses import STATUSES

TARGET_LEVEL = 2  # 二级: the level the provincial policy counts ("二级及以上")
DIMENSIONS = ("total", "foundation", "management", "effectiveness")


@dataclass(frozen=True, slots=True)
class EnterpriseFacts:
    """One enterprise as the statistics see it; `level`, `scores` and `scene_levels` are its
    latest submission's (None before its first)."""

    city: str
    county: str
    industry: str
    status: str
    level: int | None = None
    scores: Mapping[str, Decimal] | None = None
    scene_levels: Mapping[str, int] | None = None


@dataclass(slots=True)
class Tally:
    """Counts of one group of enterprises (an area, an industry, or all)."""

    total: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    levels: dict[int, int] = field(default_factory=dict)  # latest level -> enterprises

    def add(self, facts: EnterpriseFacts) -> None:
        self.total += 1
        self.by_status[facts.status] = self.by_status.get(facts.status, 0) + 1
        if facts.level is not None:
            self.levels[facts.level] = self.levels.get(facts.level, 0) + 1

    @property
    def submitted(self) -> int:
        return sum(self.levels.values())

    @property
    def at_target(self) -> int:
        return sum(n for level, n in self.levels.items() if level >= TARGET_LEVEL)


@dataclass(slots=True)
class Statistics:
    overall: Tally
    by_city: dict[str, Tally]
    by_county: dict[tuple[str, str], Tally]
    by_industry: dict[str, Tally]
    score_sums: dict[str, Decimal]  # of the latest submissions, per dimension
    scored: int  # submissions the sums are over
    below_target: dict[str, int]  # scene code -> latest submissions with it below level 2

    def average(self, dimension: str) -> Decimal | None:
        if not self.scored:
            return None
        return _round(self.score_sums[dimension] / self.scored)

    def weak_scenes(self) -> list[tuple[str, int]]:
        """Scene codes by how many submissions have them below level 2, most first."""
        return sorted(self.below_target.items(), key=lambda item: (-item[1], item[0]))


def _round(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def share(part: int, whole: int) -> Decimal | None:
    """`part` of `whole` as a percentage with one decimal (None of nothing)."""
    return None if whole == 0 else _round(Decimal(part * 100) / Decimal(whole), "0.1")


def summarize(enterprises: Iterable[EnterpriseFacts], scene_codes: Sequence[str]) -> Statistics:
    stats = Statistics(Tally(), {}, {}, {}, dict.fromkeys(DIMENSIONS, Decimal(0)), 0,
                       dict.fromkeys(scene_codes, 0))
    for facts in enterprises:
        stats.overall.add(facts)
        stats.by_city.setdefault(facts.city, Tally()).add(facts)
        stats.by_county.setdefault((facts.city, facts.county), Tally()).add(facts)
        stats.by_industry.setdefault(facts.industry, Tally()).add(facts)
        if facts.scores is not None:
            stats.scored += 1
            for name in DIMENSIONS:
                stats.score_sums[name] += facts.scores.get(name, Decimal(0))
        if facts.scene_levels is not None:
            for code in scene_codes:
                # A scene not answered counts as level 0.
                if int(facts.scene_levels.get(code, 0)) < TARGET_LEVEL:
                    stats.below_target[code] += 1
    return stats


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def tally_data(tally: Tally, level_names: Mapping[int, str]) -> dict[str, Any]:
    by = tally.by_status
    return {
        "enterprises": tally.total, **{status: by.get(status, 0) for status in STATUSES},
        "completion_rate": _text(share(by.get("submitted", 0), tally.total)),
        "levels": [{"level": level, "name": level_names.get(level, str(level)),
                    "enterprises": tally.levels.get(level, 0)} for level in sorted(level_names)],
        "at_level2_or_above": tally.at_target,
        "share_level2_or_above": _text(share(tally.at_target, tally.submitted)),
    }


def statistics_data(stats: Statistics, *, level_names: Mapping[int, str],
                    scene_names: Mapping[str, str],
                    industry_names: Mapping[str, str]) -> dict[str, Any]:
    """The statistics as JSON-ready data (decimals as text, shares in percent)."""
    return {
        "overall": tally_data(stats.overall, level_names),
        "by_city": [{"city": city, **tally_data(t, level_names)}
                    for city, t in sorted(stats.by_city.items())],
        "by_county": [{"city": city, "county": county, **tally_data(t, level_names)}
                      for (city, county), t in sorted(stats.by_county.items())],
        "by_industry": [{"industry": code, "name": industry_names.get(code, code),
                         **tally_data(t, level_names)}
                        for code, t in sorted(stats.by_industry.items())],
        "dimension_averages": {name: _text(stats.average(name)) for name in DIMENSIONS},
        "submissions": stats.scored,
        "scenes_below_level2": [
            {"code": code, "name": scene_names.get(code, code), "submissions": n,
             "share": _text(share(n, stats.scored))} for code, n in stats.weak_scenes()],
    }
