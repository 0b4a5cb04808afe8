"""An assessment as plain JSON-ready data: for `dxbot score`, the APIs and the archive.

Scores stay `Decimal` here; the caller's JSON encoder writes them as numbers (see `json_default`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flows.i18n import Translator
from flows.indicators import IndicatorSet
from flows.scoring import Assessment, Gap


def json_default(value: Any) -> Any:
    """`json.dumps(default=...)`: Decimals as JSON numbers, integral ones without a fraction."""
    if isinstance(value, Decimal):
        integral = value.to_integral_value()
        return int(integral) if value == integral else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def assessment_data(iset: IndicatorSet, result: Assessment, tr: Translator) -> dict[str, Any]:
    """Everything an assessment says, keyed for machines; suggestion texts in `tr`'s language."""
    return {
        "indicator_set": iset.id,
        "total": result.total,
        "max_score": result.max_score,
        "dimensions": dict(result.dimensions),
        "groups": [{"dimension": g.dimension, "title": g.title, "score": g.score,
                    "max_score": g.max_score} for g in result.groups],
        "questions": dict(result.question_scores),
        "scenes": [{"code": s.code, "name": s.name, "constraint": s.constraint,
                    "level": result.scene_levels[s.code]} for s in iset.scenes],
        "scene_counts": [c._asdict() for c in result.scene_counts],
        "level": result.level,
        "level_name": result.level_name,
        "level_summary": result.level_summary,
        "next_level": None if result.next_level is None else gap_data(result.next_level),
        "suggestions": [{"kind": s.kind, "code": s.code, "target": s.target,
                         "text": s.render(tr)} for s in result.suggestions],
    }


def gap_data(gap: Gap) -> dict[str, Any]:
    return {
        "level": gap.level,
        "name": gap.name,
        "min_score": gap.min_score,
        "points_missing": gap.points_missing,
        "scene_level": gap.scene_level,
        "scenes_missing": gap.scenes_missing,
        "constraint_scenes_missing": gap.constraint_scenes_missing,
        "scenes_to_lift": [{"code": s.code, "name": s.name, "constraint": s.constraint,
                            "level": s.level, "target": s.target} for s in gap.scenes_to_lift],
    }
