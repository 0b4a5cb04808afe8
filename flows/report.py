"""The owner's report (自评报告) as data for a page and a PDF: the level and what it means, the
scores, a radar chart of the scored groups, the 16 scenes, the gap to the next level, what to do
first, the change since the previous submission and where the enterprise stands among peers.

Pure: the shell reads the submission, its predecessor, the peers' counts and the matched
solutions, and renders what `build` returns. Numbers and levels are the stored ones; the
suggestions are worded again from the stored answers, in the reader's language.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flows.i18n import Translator
from flows.indicators import IndicatorSet
from flows.messages import solutions as solution_texts
from flows.profile import ProfileReference
from flows.scoring import assess, number_text
from flows.solutions import Match
from flows.state import Context

MIN_PEERS = 5
"""Fewer other enterprises than this in a group: no comparison (nobody can be singled out)."""


@dataclass(frozen=True, slots=True)
class RadarAxis:
    label: str
    score: str
    max_score: str
    end: tuple[float, float]  # the axis's outer end
    point: tuple[float, float]  # the score on it
    label_at: tuple[float, float]
    anchor: str  # SVG text-anchor: start, middle, end


@dataclass(frozen=True, slots=True)
class Radar:
    """A radar chart of the scored groups, each axis its group's share of its maximum, in SVG
    coordinates of a `size` × `size` box."""

    size: int
    center: float
    axes: tuple[RadarAxis, ...]
    rings: tuple[str, ...]  # polygon points at 25 %, 50 %, 75 % and 100 %
    shape: str  # polygon points of the scores


@dataclass(frozen=True, slots=True)
class Dimension:
    title: str
    score: str
    max_score: str
    percent: int


@dataclass(frozen=True, slots=True)
class SceneRow:
    code: str
    name: str
    constraint: bool
    level: int
    max_level: int


@dataclass(frozen=True, slots=True)
class PeerView:
    """Where the enterprise stands in one group of peers (at least `MIN_PEERS` others)."""

    group: str  # e.g. "济南市 · 制造业"
    size: int  # the other enterprises compared with
    higher_than: int  # percent of them with a lower total
    levels: tuple[tuple[str, int], ...]  # level name, how many of them, highest level first


@dataclass(frozen=True, slots=True)
class SolutionRow:
    title: str
    provider: str
    why: str


@dataclass(frozen=True, slots=True)
class PeerInput:
    """What the shell counted for one group: the others' latest levels, how many scored less."""

    group: str
    by_level: Mapping[int, int]
    below: int


@dataclass(frozen=True, slots=True)
class ReportView:
    title: str
    enterprise: str
    credit_code: str
    profile_lines: tuple[tuple[str, str], ...]  # label, value
    date: str
    level: int
    level_name: str
    level_summary: str
    total: str
    max_score: str
    dimensions: tuple[Dimension, ...]
    radar: Radar
    scenes: tuple[SceneRow, ...]
    gap: tuple[str, ...]  # what the next level still needs; empty at the highest level
    next_level_name: str
    suggestions: tuple[str, ...]
    solutions: tuple[SolutionRow, ...]
    change: str  # since the previous submission; empty for the first
    peers: tuple[PeerView, ...]
    official_note: str


def build(ctx: Context, *, profile: Mapping[str, Any], credit_code: str,
          result: Mapping[str, Any], answers: Mapping[str, Any], date: str,
          previous: Mapping[str, Any] | None, previous_date: str, peers: Sequence[PeerInput],
          matches: Sequence[Match]) -> ReportView:
    """The report of one stored submission in `ctx.tr`'s language (`result`:
    flows.results.assessment_data as stored; `previous`: the enterprise's submission before it,
    the same way)."""
    tr = ctx.tr
    _ = tr.gettext
    iset = ctx.sets.get(str(result.get("indicator_set")), ctx.iset(None))
    maxima = {d.code: d.max_score for d in iset.dimensions}
    titles = {d.code: d.title for d in iset.dimensions}
    dimensions = tuple(
        Dimension(titles.get(code, code), _num(score), number_text(maxima.get(code, Decimal(0))),
                  _percent(Decimal(str(score)), maxima.get(code, Decimal(0))))
        for code, score in result["dimensions"].items())
    level = int(result["level"])
    gap = result.get("next_level")
    return ReportView(
        title=_("Self-assessment report on digital transformation"),
        enterprise=str(profile.get("name", "")),
        credit_code=credit_code,
        profile_lines=_profile_lines(ctx.reference, tr, profile, credit_code),
        date=date,
        level=level,
        level_name=str(result["level_name"]),
        level_summary=str(result.get("level_summary", "")),
        total=_num(result["total"]),
        max_score=_num(result["max_score"]),
        dimensions=dimensions,
        radar=_radar_of(result),
        scenes=tuple(SceneRow(str(s["code"]), str(s["name"]), bool(s["constraint"]),
                              int(s["level"]), iset.max_scene_level)
                     for s in result["scenes"]),
        gap=() if gap is None else _gap_lines(tr, gap),
        next_level_name="" if gap is None else str(gap["name"]),
        suggestions=_suggestions(iset, tr, answers, result),
        solutions=tuple(SolutionRow(m.solution.title, m.solution.provider.name,
                                    solution_texts.reason(ctx, m)) for m in matches),
        change=("" if previous is None else
                _change(tr, result, previous, previous_date)),
        peers=tuple(v for v in (peer_view(tr, iset, p) for p in peers) if v is not None),
        official_note=_("This is a preliminary self-assessment; the official level is "
                        "confirmed by on-site evaluation by an evaluation agency."),
    )


@dataclass(frozen=True, slots=True)
class ChartView:
    """What the chart as an image of its own shows: the radar and whose, at which level."""

    enterprise: str
    level_name: str
    total: str
    max_score: str
    radar: Radar


def chart(result: Mapping[str, Any], enterprise: str) -> ChartView:
    return ChartView(enterprise, str(result["level_name"]), _num(result["total"]),
                     _num(result["max_score"]), _radar_of(result))


def _radar_of(result: Mapping[str, Any]) -> Radar:
    return radar([(str(g["title"]), Decimal(str(g["score"])), Decimal(str(g["max_score"])))
                  for g in result["groups"]])


def radar(groups: Sequence[tuple[str, Decimal, Decimal]], *, size: int = 360) -> Radar:
    """Axes clockwise from the top, one per group; a group's point sits at its share of its
    maximum. The labels get room outside the outer ring."""
    center = size / 2
    outer = size * 0.28
    count = max(len(groups), 3)

    def at(index: int, share: float, radius: float = outer) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * index / count
        return (round(center + radius * share * math.cos(angle), 1),
                round(center + radius * share * math.sin(angle), 1))

    axes = []
    for i, (label, score, max_score) in enumerate(groups):
        share = float(score / max_score) if max_score > 0 else 0.0
        lx, ly = at(i, 1.0, outer + size * 0.07)
        anchor = "middle" if abs(lx - center) < 1 else ("start" if lx > center else "end")
        axes.append(RadarAxis(label, number_text(score), number_text(max_score), at(i, 1.0),
                              at(i, min(max(share, 0.0), 1.0)), (lx, ly), anchor))

    def polygon(points: Sequence[tuple[float, float]]) -> str:
        return " ".join(f"{x},{y}" for x, y in points)

    rings = tuple(polygon([at(i, share) for i in range(len(groups))])
                  for share in (0.25, 0.5, 0.75, 1.0))
    return Radar(size, center, tuple(axes), rings, polygon([a.point for a in axes]))


def peer_view(tr: Translator, iset: IndicatorSet, peers: PeerInput) -> PeerView | None:
    size = sum(peers.by_level.values())
    if size < MIN_PEERS:
        return None
    levels = tuple((iset.level_name(level), peers.by_level.get(level, 0))
                   for level in range(len(iset.level_rules), -1, -1))
    return PeerView(peers.group, size, round(100 * peers.below / size), levels)


def _profile_lines(reference: ProfileReference, tr: Translator, profile: Mapping[str, Any],
                   credit_code: str) -> tuple[tuple[str, str], ...]:
    _ = tr.gettext
    lines = [(_("Enterprise"), str(profile.get("name", ""))),
             (_("Unified social credit code"), credit_code),
             (_("Location"), f"{profile.get('city', '')} {profile.get('county', '')}".strip()),
             (_("Industry"), reference.industry_name(str(profile.get("industry", "")),
                                                     profile.get("industry_division")))]
    if profile.get("employees") is not None:
        lines.append((_("Employees"), str(profile["employees"])))
    return tuple(lines)


def _gap_lines(tr: Translator, gap: Mapping[str, Any]) -> tuple[str, ...]:
    _ = tr.gettext
    lines = []
    points = Decimal(str(gap["points_missing"]))
    if points > 0:
        lines.append(_("{points} more points (at least {min} in all)").format(
            points=number_text(points), min=_num(gap["min_score"])))
    if gap["scenes_missing"] or gap["constraint_scenes_missing"]:
        lines.append(_("{n} more scenes at level {level} ({c} of them constraint scenes)")
                     .format(n=max(gap["scenes_missing"], gap["constraint_scenes_missing"]),
                             level=gap["scene_level"], c=gap["constraint_scenes_missing"]))
    for scene in gap.get("scenes_to_lift", ()):
        lines.append(_("Scene 「{name}」: from level {level} to level {target}").format(
            name=scene["name"], level=scene["level"], target=scene["target"]))
    return tuple(lines)


def _suggestions(iset: IndicatorSet, tr: Translator, answers: Mapping[str, Any],
                 result: Mapping[str, Any]) -> tuple[str, ...]:
    """Worded again in `tr`'s language from the stored answers; the stored texts (in the
    language of the submission) where the answers no longer fit the indicator set."""
    try:
        assessment = assess(iset, {code: tuple(v) if isinstance(v, list) else v
                                   for code, v in answers.items()})
    except (KeyError, ValueError, TypeError):
        return tuple(str(s["text"]) for s in result.get("suggestions", ()))
    return tuple(s.render(tr) for s in assessment.suggestions)


def _change(tr: Translator, result: Mapping[str, Any], previous: Mapping[str, Any],
            previous_date: str) -> str:
    _ = tr.gettext
    delta = Decimal(str(result["total"])) - Decimal(str(previous["total"]))
    sign = "+" if delta > 0 else ""
    text = _("Since {date}: {delta} points ({before} → {now})").format(
        date=previous_date, delta=sign + number_text(delta), before=_num(previous["total"]),
        now=_num(result["total"]))
    if int(result["level"]) != int(previous["level"]):
        text += _("; level {before} → {now}").format(before=previous["level_name"],
                                                    now=result["level_name"])
    return text


def _num(value: Any) -> str:
    return number_text(Decimal(str(value)))


def _percent(score: Decimal, max_score: Decimal) -> int:
    return 0 if max_score <= 0 else round(100 * score / max_score)
