"""Indicator sets as data: the typed model of a set and its loader/validator.

An indicator set (questions, options, scores, scenes, level rules) lives in a JSON file under
`flows/sets/`; everything the engine knows about scoring comes from there. Adding another set is
adding a file. A broken file fails loudly, naming the entry that is wrong.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

QuestionType = Literal["single", "multiple"]


class IndicatorSetError(ValueError):
    """The data file of an indicator set is malformed; the message names the entry."""


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    text: str
    score: Decimal
    exclusive: bool = False


@dataclass(frozen=True, slots=True)
class Figure:
    """A number the owner may report instead of picking an option (device counts, revenue…)."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class RatioBand:
    """Picks an option by percentage: the first band whose `max_percent` is not exceeded."""

    key: str
    max_percent: Decimal


@dataclass(frozen=True, slots=True)
class Derivation:
    """How a question's option follows from figures.

    `ratio_band`: mean(numerator) / mean(denominator) as a percentage, mapped through `bands`.
    `ratio_change`: current[0]/current[1] against previous[0]/previous[1], mapped through
    `outcomes` ("up", "flat", "down").
    """

    kind: Literal["ratio_band", "ratio_change"]
    numerator: tuple[str, ...] = ()
    denominator: tuple[str, ...] = ()
    part_of_whole: bool = False
    bands: tuple[RatioBand, ...] = ()
    current: tuple[str, ...] = ()
    previous: tuple[str, ...] = ()
    outcomes: Mapping[str, str] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()  # every figure named above, once; set by the parser


@dataclass(frozen=True, slots=True)
class Question:
    code: str
    type: QuestionType
    title: str
    description: str
    max_score: Decimal
    options: tuple[Option, ...]
    figures: tuple[Figure, ...]
    derivation: Derivation | None
    dimension: str
    group: str
    option_by_key: Mapping[str, Option]
    # For suggestions: options in the order worth proposing next (single: ascending score;
    # multiple: non-exclusive options, best first).
    proposal_order: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """A scored group (设备系统, 数据采集…) inside a dimension."""

    title: str
    dimension: str
    max_score: Decimal
    questions: tuple[Question, ...]


@dataclass(frozen=True, slots=True)
class Dimension:
    code: str
    title: str
    max_score: Decimal
    groups: tuple[Group, ...]


@dataclass(frozen=True, slots=True)
class Scene:
    """A business scene answered with a level 0…max; `levels[n]` describes level n."""

    code: str
    name: str
    constraint: bool
    group: str
    levels: Mapping[int, str]


@dataclass(frozen=True, slots=True)
class SceneGroup:
    title: str
    scenes: tuple[Scene, ...]


@dataclass(frozen=True, slots=True)
class LevelRule:
    level: int
    name: str
    min_score: Decimal
    scene_level: int
    min_scenes: int
    min_constraint_scenes: int
    summary: str


@dataclass(frozen=True, slots=True)
class IndicatorSet:
    id: str
    name: str
    issuer: str
    max_score: Decimal
    dimensions: tuple[Dimension, ...]
    scenes_title: str
    scene_groups: tuple[SceneGroup, ...]
    unanswered_level_text: str
    level_rules: tuple[LevelRule, ...]  # ascending: level 1 first
    below_level_name: str
    below_level_summary: str
    questions: tuple[Question, ...]
    scenes: tuple[Scene, ...]
    question_by_code: Mapping[str, Question]
    scene_by_code: Mapping[str, Scene]
    figure_by_name: Mapping[str, Figure]
    max_scene_level: int
    groups: tuple[Group, ...]
    codes: tuple[str, ...]  # every question and scene code, in the order they are asked

    def level_rule(self, level: int) -> LevelRule | None:
        return self.level_rules[level - 1] if 1 <= level <= len(self.level_rules) else None

    def level_name(self, level: int) -> str:
        rule = self.level_rule(level)
        return rule.name if rule else self.below_level_name


# --- parsing and validation -------------------------------------------------------------


class _Reader:
    """Reads one JSON object, raising IndicatorSetError that names where it is."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise IndicatorSetError(f"{where}: expected an object")
        self.data = data
        self.where = where

    def fail(self, message: str) -> IndicatorSetError:
        return IndicatorSetError(f"{self.where}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(f"missing '{key}'")
            return default
        value = self.data[key]
        if isinstance(value, bool) and kind is not bool and bool not in _as_tuple(kind):
            raise self.fail(f"'{key}' must be {_kind_name(kind)}")
        if not isinstance(value, kind):
            raise self.fail(f"'{key}' must be {_kind_name(kind)}")
        return value

    def text(self, key: str, default: Any = ...) -> str:
        value = self.get(key, str, default)
        if default is ... and not value.strip():
            raise self.fail(f"'{key}' must not be empty")
        return str(value)

    def number(self, key: str) -> Decimal:
        value = self.get(key, (int, Decimal))
        result = Decimal(value)
        if not result.is_finite() or result < 0:
            raise self.fail(f"'{key}' must be a non-negative number")
        return result

    def integer(self, key: str) -> int:
        value = self.get(key, (int, Decimal))
        if isinstance(value, Decimal) and value != value.to_integral_value():
            raise self.fail(f"'{key}' must be a whole number")
        if value < 0:
            raise self.fail(f"'{key}' must not be negative")
        return int(value)

    def names(self, key: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(key, list, default)
        if not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"'{key}' must be a list of figure names")
        return tuple(value)

    def items(self, key: str) -> list[Any]:
        value = self.get(key, list)
        if not value:
            raise self.fail(f"'{key}' must not be empty")
        return list(value)


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "a number", Decimal: "a number", list: "a list", dict: "an object",
             bool: "true or false"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in _as_tuple(kind)))


def _unique(codes: Iterable[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise IndicatorSetError(f"{where}: duplicate {what} '{code}'")
        seen.add(code)


def _parse_option(raw: Any, where: str) -> Option:
    r = _Reader(raw, where)
    return Option(key=r.text("key"), text=r.text("text"), score=r.number("score"),
                  exclusive=r.get("exclusive", bool, False))


def _parse_derivation(raw: Any, where: str, option_keys: set[str]) -> Derivation:
    r = _Reader(raw, where)
    kind = r.text("kind")
    if kind == "ratio_band":
        bands = []
        for i, band in enumerate(r.items("bands")):
            b = _Reader(band, f"{where}.bands[{i}]")
            bands.append(RatioBand(key=b.text("key"), max_percent=b.number("max_percent")))
        limits = [b.max_percent for b in bands]
        if limits != sorted(limits) or len(set(limits)) != len(limits):
            raise r.fail("bands must have strictly increasing max_percent")
        derivation = Derivation(kind="ratio_band", numerator=r.names("numerator"),
                                denominator=r.names("denominator"),
                                part_of_whole=r.get("part_of_whole", bool, False),
                                bands=tuple(bands))
        keys = [b.key for b in bands]
        if not derivation.numerator or not derivation.denominator:
            raise r.fail("numerator and denominator must name figures")
    elif kind == "ratio_change":
        outcomes = r.get("outcomes", dict)
        if set(outcomes) != {"up", "flat", "down"}:
            raise r.fail("outcomes must map exactly 'up', 'flat' and 'down'")
        derivation = Derivation(kind="ratio_change", current=r.names("current"),
                                previous=r.names("previous"), outcomes=dict(outcomes))
        if len(derivation.current) != 2 or len(derivation.previous) != 2:
            raise r.fail("current and previous must each name [numerator, denominator]")
        keys = list(outcomes.values())
    else:
        raise r.fail(f"unknown kind '{kind}' (expected ratio_band or ratio_change)")
    names = (derivation.numerator + derivation.denominator + derivation.current
             + derivation.previous)
    derivation = replace(derivation, inputs=tuple(dict.fromkeys(names)))
    for key in keys:
        if key not in option_keys:
            raise r.fail(f"refers to option '{key}', which the question does not have")
    return derivation


def _parse_question(raw: Any, where: str, dimension: str, group: str) -> Question:
    r = _Reader(raw, where)
    code = r.text("code")
    where = f"{where}({code})"
    r.where = where
    written = r.text("type")
    qtype: QuestionType
    if written == "single":
        qtype = "single"
    elif written == "multiple":
        qtype = "multiple"
    else:
        raise r.fail(f"type must be 'single' or 'multiple', not '{written}'")
    max_score = r.number("max_score")
    options = tuple(_parse_option(o, f"{where}.options[{i}]")
                    for i, o in enumerate(r.items("options")))
    _unique((o.key for o in options), where, "option key")
    for o in options:
        if o.score > max_score:
            raise IndicatorSetError(
                f"{where}.options[{o.key}]: score {o.score} exceeds the question's max {max_score}")
        if o.exclusive and qtype == "single":
            raise IndicatorSetError(f"{where}.options[{o.key}]: 'exclusive' only applies to "
                                    "multiple-choice questions")
    if qtype == "single":
        best = max(o.score for o in options)
        if best != max_score:
            raise r.fail(f"max_score {max_score} differs from its best option's score {best}")
    else:
        reachable = sum((o.score for o in options if not o.exclusive), Decimal(0))
        if reachable < max_score:
            raise r.fail(f"max_score {max_score} cannot be reached: options add up to {reachable}")
    figures = tuple(Figure(name=_Reader(f, f"{where}.figures[{i}]").text("name"),
                           text=_Reader(f, f"{where}.figures[{i}]").text("text"))
                    for i, f in enumerate(r.get("figures", list, [])))
    derive_raw = r.get("derive", dict, None)
    derivation = (None if derive_raw is None else
                  _parse_derivation(derive_raw, f"{where}.derive", {o.key for o in options}))
    return Question(code=code, type=qtype, title=r.text("title"),
                    description=r.text("description", ""), max_score=max_score, options=options,
                    figures=figures, derivation=derivation, dimension=dimension, group=group,
                    option_by_key={o.key: o for o in options},
                    proposal_order=_proposal_order(qtype, options))


def _proposal_order(qtype: QuestionType, options: tuple[Option, ...]) -> tuple[Option, ...]:
    if qtype == "single":
        return tuple(sorted(options, key=lambda o: o.score))
    return tuple(sorted((o for o in options if not o.exclusive), key=lambda o: -o.score))


def _parse_scene(raw: Any, where: str, group: str) -> Scene:
    r = _Reader(raw, where)
    code = r.text("code")
    r.where = where = f"{where}({code})"
    levels_raw = r.get("levels", dict)
    levels: dict[int, str] = {}
    for key, text in levels_raw.items():
        if not (isinstance(key, str) and key.isdigit() and int(key) >= 1):
            raise r.fail(f"level '{key}' must be a whole number from 1")
        if not isinstance(text, str) or not text.strip():
            raise r.fail(f"level {key} needs a description")
        levels[int(key)] = text
    if sorted(levels) != list(range(1, len(levels) + 1)):
        raise r.fail("levels must be numbered 1…n without gaps")
    return Scene(code=code, name=r.text("name"), constraint=r.get("constraint", bool),
                 group=group, levels=levels)


def parse_indicator_set(data: Any) -> IndicatorSet:
    """Build and validate an IndicatorSet from decoded JSON (numbers as Decimal or int)."""
    top = _Reader(data, "indicator set")
    set_id = top.text("id")
    top.where = set_id

    scored = _Reader(top.get("scored_part", dict), f"{set_id}.scored_part")
    dimensions: list[Dimension] = []
    for di, raw_dim in enumerate(scored.items("dimensions")):
        dr = _Reader(raw_dim, f"{set_id}.dimensions[{di}]")
        dcode = dr.text("code")
        dr.where = dwhere = f"{set_id}.{dcode}"
        groups: list[Group] = []
        for gi, raw_group in enumerate(dr.items("groups")):
            gr = _Reader(raw_group, f"{dwhere}.groups[{gi}]")
            gtitle = gr.text("title")
            gr.where = gwhere = f"{dwhere}.{gtitle}"
            questions = tuple(_parse_question(q, f"{gwhere}.questions[{qi}]", dcode, gtitle)
                              for qi, q in enumerate(gr.items("questions")))
            gmax = gr.number("max_score")
            qsum = sum((q.max_score for q in questions), Decimal(0))
            if qsum != gmax:
                raise gr.fail(f"max_score {gmax} differs from its questions' maxima, {qsum}")
            groups.append(Group(title=gtitle, dimension=dcode, max_score=gmax,
                                questions=questions))
        dmax = dr.number("max_score")
        gsum = sum((g.max_score for g in groups), Decimal(0))
        if gsum != dmax:
            raise dr.fail(f"max_score {dmax} differs from its groups' maxima, {gsum}")
        _unique((g.title for g in groups), dwhere, "group")
        dimensions.append(Dimension(code=dcode, title=dr.text("title"), max_score=dmax,
                                    groups=tuple(groups)))
    _unique((d.code for d in dimensions), f"{set_id}.scored_part", "dimension")
    max_score = scored.number("max_score")
    dsum = sum((d.max_score for d in dimensions), Decimal(0))
    if dsum != max_score:
        raise scored.fail(f"max_score {max_score} differs from its dimensions' maxima, {dsum}")

    scenes_part = _Reader(top.get("business_scenes", dict), f"{set_id}.business_scenes")
    scene_groups: list[SceneGroup] = []
    for gi, raw_group in enumerate(scenes_part.items("groups")):
        gr = _Reader(raw_group, f"{set_id}.business_scenes.groups[{gi}]")
        gtitle = gr.text("title")
        scenes = tuple(_parse_scene(s, f"{set_id}.business_scenes.{gtitle}.scenes[{si}]", gtitle)
                       for si, s in enumerate(gr.items("scenes")))
        scene_groups.append(SceneGroup(title=gtitle, scenes=scenes))
    scenes = tuple(s for g in scene_groups for s in g.scenes)
    questions = tuple(q for d in dimensions for g in d.groups for q in g.questions)
    _unique([q.code for q in questions] + [s.code for s in scenes], set_id, "question code")
    # The count most scenes describe is the intended one; name a scene that differs from it.
    level_counts = Counter(len(s.levels) for s in scenes)
    max_scene_level = level_counts.most_common(1)[0][0]
    for s in scenes:
        if len(s.levels) != max_scene_level:
            raise scenes_part.fail(f"scene {s.code} describes {len(s.levels)} levels, the others "
                                   f"{max_scene_level}; every scene must describe the same "
                                   "number of levels")

    rules_part = _Reader(top.get("level_rules", dict), f"{set_id}.level_rules")
    rules: list[LevelRule] = []
    for li, raw_rule in enumerate(rules_part.items("levels")):
        lr = _Reader(raw_rule, f"{set_id}.level_rules.levels[{li}]")
        level = lr.integer("level")
        lr.where = f"{set_id}.level_rules.level {level}"
        rules.append(LevelRule(level=level, name=lr.text("name"), min_score=lr.number("min_score"),
                               scene_level=lr.integer("scene_level"),
                               min_scenes=lr.integer("min_scenes"),
                               min_constraint_scenes=lr.integer("min_constraint_scenes"),
                               summary=lr.text("summary")))
    rules.sort(key=lambda rule: rule.level)
    _validate_level_rules(set_id, rules, scenes, max_score, max_scene_level)

    figure_by_name: dict[str, Figure] = {}
    for q in questions:
        for f in q.figures:
            if f.name in figure_by_name:
                raise IndicatorSetError(f"{set_id}.{q.code}: figure '{f.name}' is declared twice")
            figure_by_name[f.name] = f
    for q in questions:
        for name in q.derivation.inputs if q.derivation else ():
            if name not in figure_by_name:
                raise IndicatorSetError(
                    f"{set_id}.{q.code}.derive: figure '{name}' is not declared by any question")

    return IndicatorSet(
        id=set_id, name=top.text("name"), issuer=top.text("issuer", ""), max_score=max_score,
        dimensions=tuple(dimensions), scenes_title=scenes_part.text("title"),
        scene_groups=tuple(scene_groups),
        unanswered_level_text=scenes_part.text("unanswered_level_text"),
        level_rules=tuple(rules), below_level_name=rules_part.text("below_level_name"),
        below_level_summary=rules_part.text("below_level_summary"), questions=questions,
        scenes=scenes, question_by_code={q.code: q for q in questions},
        scene_by_code={s.code: s for s in scenes}, figure_by_name=figure_by_name,
        max_scene_level=max_scene_level,
        groups=tuple(g for d in dimensions for g in d.groups),
        codes=tuple(q.code for q in questions) + tuple(s.code for s in scenes))


def _validate_level_rules(set_id: str, rules: list[LevelRule], scenes: tuple[Scene, ...],
                          max_score: Decimal, max_scene_level: int) -> None:
    where = f"{set_id}.level_rules"
    levels = [r.level for r in rules]
    if levels != list(range(1, len(rules) + 1)):
        raise IndicatorSetError(f"{where}: levels must be 1…n without gaps or repeats, got "
                                f"{levels}")
    constraint_count = sum(s.constraint for s in scenes)
    previous: LevelRule | None = None
    for rule in rules:
        at = f"{where}.level {rule.level}"
        if rule.min_score > max_score:
            raise IndicatorSetError(f"{at}: min_score {rule.min_score} exceeds the maximum "
                                    f"{max_score}")
        if not 1 <= rule.scene_level <= max_scene_level:
            raise IndicatorSetError(f"{at}: scene_level must be 1…{max_scene_level}")
        if rule.min_scenes > len(scenes):
            raise IndicatorSetError(f"{at}: min_scenes {rule.min_scenes} exceeds the "
                                    f"{len(scenes)} scenes")
        if rule.min_constraint_scenes > min(rule.min_scenes, constraint_count):
            raise IndicatorSetError(f"{at}: min_constraint_scenes {rule.min_constraint_scenes} "
                                    "exceeds min_scenes or the number of constraint scenes")
        if previous is not None and (rule.min_score < previous.min_score
                                     or rule.scene_level < previous.scene_level
                                     or rule.min_scenes < previous.min_scenes
                                     or rule.min_constraint_scenes
                                     < previous.min_constraint_scenes):
            raise IndicatorSetError(f"{at}: must not ask less than level {previous.level}")
        previous = rule


def decode(text: str | bytes) -> Any:
    """Decode indicator JSON keeping every number exact."""
    return json.loads(text, parse_float=Decimal)


def builtin_sets() -> dict[str, IndicatorSet]:
    """Every set shipped under flows/sets/, keyed by id. Validates each one."""
    result: dict[str, IndicatorSet] = {}
    for entry in sorted(resources.files("flows.sets").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            try:
                iset = parse_indicator_set(decode(entry.read_bytes()))
            except (IndicatorSetError, ValueError) as exc:
                raise IndicatorSetError(f"{entry.name}: {exc}") from exc
            if iset.id in result:
                raise IndicatorSetError(f"{entry.name}: indicator set id '{iset.id}' is used twice")
            result[iset.id] = iset
    return result


DEFAULT_SET_ID = "miit-2024"
