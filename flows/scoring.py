"""Scoring an answer set: exact scores, the preliminary level and what the next level needs.

Theory of operation: `assess` takes answers already accepted by `flows.answers` and returns an
`Assessment`: scores summed as Decimals (ten options of 0.7 are exactly 7), each scene's level,
the highest level whose every rule holds, and the `Gap` to the level above — points missing, scenes
and constraint scenes missing, the cheapest scenes to lift — plus up to three suggestions built
from the data file's own texts. Everything here is arithmetic on the indicator set: the rules,
names and advice all come from the data file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

from flows.answers import Answer
from flows.i18n import Translator
from flows.indicators import IndicatorSet, LevelRule, Question, Scene

_ZERO = Decimal(0)
MAX_SUGGESTIONS = 3


class GroupScore(NamedTuple):
    dimension: str
    title: str
    score: Decimal
    max_score: Decimal


class LevelCount(NamedTuple):
    """Scenes at exactly `level`, and at `level` or above (what the level rules count)."""

    level: int
    scenes: int
    constraint_scenes: int
    scenes_at_least: int
    constraint_scenes_at_least: int


class SceneToLift(NamedTuple):
    code: str
    name: str
    constraint: bool
    level: int
    target: int

    @property
    def steps(self) -> int:
        return self.target - self.level


class Gap(NamedTuple):
    """What the enterprise still lacks for `level`; every figure is exact and zero when met."""

    level: int
    name: str
    min_score: Decimal
    points_missing: Decimal
    scene_level: int
    scenes_missing: int
    constraint_scenes_missing: int
    scenes_to_lift: tuple[SceneToLift, ...]


class Suggestion(NamedTuple):
    """One action, built from data: a scene's next-level description or a better option."""

    kind: Literal["scene", "single", "multiple"]
    code: str  # scene or question code
    subject: str  # scene name or group title
    action: str  # the data file's text: level description or option text
    target: str  # scene: the level to reach; question: the option key
    question: str = ""  # question title (kind single/multiple)
    score: Decimal = _ZERO  # group score now (kind single/multiple)
    max_score: Decimal = _ZERO

    def render(self, tr: Translator) -> str:
        _ = tr.gettext
        if self.kind == "scene":
            return _("Bring the scene 「{name}」 to level {level}: {action}").format(
                name=self.subject, level=self.target, action=self.action)
        template = (_("Raise 「{group}」 ({score} of {max} points): {question}, reach "
                      "「{option}」") if self.kind == "single" else
                    _("Raise 「{group}」 ({score} of {max} points): {question}, add "
                      "「{option}」"))
        return template.format(group=self.subject, score=number_text(self.score),
                               max=number_text(self.max_score), question=self.question,
                               option=self.action)


@dataclass(frozen=True, slots=True)
class Assessment:
    set_id: str
    total: Decimal
    max_score: Decimal
    dimensions: Mapping[str, Decimal]
    groups: tuple[GroupScore, ...]
    question_scores: Mapping[str, Decimal]
    scene_levels: Mapping[str, int]  # scene code -> level, in the set's order
    scene_counts: tuple[LevelCount, ...]  # level 0…max
    level: int
    level_name: str
    level_summary: str
    next_level: Gap | None
    suggestions: tuple[Suggestion, ...]


def number_text(value: Decimal) -> str:
    """A score as people write it: 7 not 7.0, 1.875 kept exact."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def assess(iset: IndicatorSet, answers: Mapping[str, Answer]) -> Assessment:
    """Score a complete answer set that `flows.answers.check_answers` has accepted."""
    # Plain loops: this runs on every submission and result view (budget: 50 µs).
    question_scores: dict[str, Decimal] = {}
    groups: list[GroupScore] = []
    dimensions: dict[str, Decimal] = {}
    for dimension in iset.dimensions:
        dimension_score = _ZERO
        for group in dimension.groups:
            group_score = _ZERO
            for question in group.questions:
                answer = answers[question.code]
                options = question.option_by_key
                if question.type == "single":
                    score = options[answer].score  # type: ignore[index]
                else:
                    score = _ZERO
                    for key in answer:  # type: ignore[union-attr]
                        score += options[key].score
                    if score > question.max_score:
                        score = question.max_score
                question_scores[question.code] = score
                group_score += score
            groups.append(GroupScore(dimension.code, group.title, group_score, group.max_score))
            dimension_score += group_score
        dimensions[dimension.code] = dimension_score
    total = sum(dimensions.values(), _ZERO)

    top = iset.max_scene_level
    exact = [0] * (top + 1)
    exact_constraint = [0] * (top + 1)
    scene_levels: dict[str, int] = {}
    for scene in iset.scenes:
        level = answers[scene.code]
        assert isinstance(level, int)  # check_answers took only levels for scenes
        scene_levels[scene.code] = level
        exact[level] += 1
        if scene.constraint:
            exact_constraint[level] += 1
    counts: list[LevelCount] = []
    at_least = at_least_constraint = 0
    for level in range(top, -1, -1):
        at_least += exact[level]
        at_least_constraint += exact_constraint[level]
        counts.append(LevelCount(level, exact[level], exact_constraint[level], at_least,
                                 at_least_constraint))
    counts.reverse()

    level = 0
    for rule in iset.level_rules:
        if _meets(rule, total, counts):
            level = rule.level
    reached = iset.level_rule(level)
    next_rule = iset.level_rule(level + 1)
    gap = None if next_rule is None else _gap(iset, next_rule, total, counts, scene_levels)
    return Assessment(
        set_id=iset.id, total=total, max_score=iset.max_score, dimensions=dimensions,
        groups=tuple(groups), question_scores=question_scores, scene_levels=scene_levels,
        scene_counts=tuple(counts), level=level, level_name=iset.level_name(level),
        level_summary=reached.summary if reached else iset.below_level_summary,
        next_level=gap,
        suggestions=_suggestions(iset, answers, question_scores, groups, scene_levels, gap))


def _meets(rule: LevelRule, total: Decimal, counts: list[LevelCount]) -> bool:
    count = counts[rule.scene_level]
    return (total >= rule.min_score and count.scenes_at_least >= rule.min_scenes
            and count.constraint_scenes_at_least >= rule.min_constraint_scenes)


def _gap(iset: IndicatorSet, rule: LevelRule, total: Decimal, counts: list[LevelCount],
         scene_levels: Mapping[str, int]) -> Gap:
    count = counts[rule.scene_level]
    scenes_missing = max(0, rule.min_scenes - count.scenes_at_least)
    constraint_missing = max(0, rule.min_constraint_scenes - count.constraint_scenes_at_least)
    lift: list[Scene] = []
    if scenes_missing or constraint_missing:
        below = _cheapest_first(iset.scenes, scene_levels, rule.scene_level)
        lift = [s for s in below if s.constraint][:constraint_missing]
        chosen = {s.code for s in lift}
        rest = [s for s in below if s.code not in chosen]
        lift += rest[:max(0, scenes_missing - len(lift))]
        lift = _cheapest_first(lift, scene_levels, rule.scene_level)
    return Gap(level=rule.level, name=rule.name, min_score=rule.min_score,
               points_missing=max(_ZERO, rule.min_score - total), scene_level=rule.scene_level,
               scenes_missing=scenes_missing, constraint_scenes_missing=constraint_missing,
               scenes_to_lift=tuple(SceneToLift(s.code, s.name, s.constraint,
                                                scene_levels[s.code], rule.scene_level)
                                    for s in lift))


def _cheapest_first(scenes: Iterable[Scene], scene_levels: Mapping[str, int],
                    target: int) -> list[Scene]:
    """Scenes below `target`: fewest steps first, then constraint scenes, then data order."""
    return sorted((s for s in scenes if scene_levels[s.code] < target),
                  key=lambda s: (target - scene_levels[s.code], not s.constraint))


def _suggestions(iset: IndicatorSet, answers: Mapping[str, Answer],
                 question_scores: Mapping[str, Decimal], groups: list[GroupScore],
                 scene_levels: Mapping[str, int], gap: Gap | None) -> tuple[Suggestion, ...]:
    """Up to three actions: lift the cheapest scenes, raise the weakest scored groups.

    With a next level in view, only what it lacks is suggested (scenes if scenes are missing,
    groups if points are); at the top level, whatever is still below its maximum.
    """
    if gap is not None:
        targets = [(s.code, s.level) for s in gap.scenes_to_lift[:MAX_SUGGESTIONS]]
        want_groups = gap.points_missing > 0
    else:
        top = iset.max_scene_level
        ordered = _cheapest_first(iset.scenes, scene_levels, top)[:MAX_SUGGESTIONS]
        targets = [(s.code, scene_levels[s.code]) for s in ordered]
        want_groups = True
    scene_items = [_scene_suggestion(iset.scene_by_code[code], level) for code, level in targets]
    # Alternate the two kinds, leading with groups when only points are missing.
    groups_lead = (gap is not None and gap.scenes_missing == 0
                   and gap.constraint_scenes_missing == 0)
    group_items: list[Suggestion] = []
    if want_groups:
        wanted = max(MAX_SUGGESTIONS - len(scene_items), 2 if groups_lead else 1)
        # Weakest share of its maximum first, then the larger shortfall (floats: ordering only).
        weakest = sorted((float(g.score) / float(g.max_score), float(g.score - g.max_score), i)
                         for i, g in enumerate(groups) if g.score < g.max_score)
        for _, _, i in weakest[:wanted]:
            group_items.append(_group_suggestion(iset.groups[i].questions, answers,
                                                 question_scores, groups[i]))
    first, second = (group_items, scene_items) if groups_lead else (scene_items, group_items)
    merged: list[Suggestion] = []
    for i in range(MAX_SUGGESTIONS):
        merged.extend(lst[i] for lst in (first, second) if i < len(lst))
    return tuple(merged[:MAX_SUGGESTIONS])


def _scene_suggestion(scene: Scene, level: int) -> Suggestion:
    target = level + 1
    return Suggestion(kind="scene", code=scene.code, subject=scene.name,
                      action=scene.levels[target], target=str(target))


def _group_suggestion(questions: tuple[Question, ...], answers: Mapping[str, Answer],
                      question_scores: Mapping[str, Decimal], group: GroupScore) -> Suggestion:
    """The next better option of the question in `group` with the most points still open."""
    q, most_open = questions[0], _ZERO
    for candidate in questions:
        open_points = candidate.max_score - question_scores[candidate.code]
        if open_points > most_open:
            q, most_open = candidate, open_points
    if q.type == "single":
        current = question_scores[q.code]
        option = next(o for o in q.proposal_order if o.score > current)
    else:
        chosen = answers[q.code]
        option = next(o for o in q.proposal_order if o.key not in chosen)  # type: ignore[operator]
    return Suggestion(kind=q.type, code=q.code, subject=group.title, action=option.text,
                      target=option.key, question=q.title, score=group.score,
                      max_score=group.max_score)
