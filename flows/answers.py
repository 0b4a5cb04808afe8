"""Checking answers against an indicator set: what is accepted, and why the rest is not.

Normalised answers are `str` (single choice), `tuple[str, ...]` in option order (multiple choice)
and `int` (scene level). Every rejection is a `Problem` value; nothing here raises for bad input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeAlias

from flows.figures import Figures, check_figures, derive
from flows.i18n import N_
from flows.indicators import IndicatorSet, Question, Scene
from flows.problems import Problem

Answer: TypeAlias = str | tuple[str, ...] | int


def check_question_answer(question: Question, value: Any) -> Answer | Problem:
    """Accept one answer to a scored question in its normalised form, or say what is wrong."""
    code = question.code
    if question.type == "single":
        if isinstance(value, list | tuple):
            return Problem("list_for_single", N_("{code}: single choice, give one option key, "
                                                 "not a list"), code, {"code": code})
        if not isinstance(value, str):
            return Problem("expected_key", N_("{code}: give one option key, such as \"{example}\""),
                           code, {"code": code, "example": question.options[0].key})
        if value not in question.option_by_key:
            return _unknown_option(question, value)
        return value
    if not isinstance(value, list | tuple):
        return Problem("expected_list", N_("{code}: multiple choice, give a list of option keys, "
                                           "such as [\"{example}\"]"),
                       code, {"code": code, "example": question.options[-1].key})
    if not value:
        return Problem("empty_choice", N_("{code}: choose at least one option"), code,
                       {"code": code})
    seen: set[str] = set()
    for key in value:
        if not isinstance(key, str) or key not in question.option_by_key:
            return _unknown_option(question, key)
        if key in seen:
            return Problem("duplicate_option", N_("{code}: option {key} is chosen twice"), code,
                           {"code": code, "key": key})
        seen.add(key)
    if len(seen) > 1:
        for key in seen:
            option = question.option_by_key[key]
            if option.exclusive:
                return Problem("exclusive_combined", N_("{code}: option {key} ({text}) cannot be "
                                                        "combined with other options"),
                               code, {"code": code, "key": key, "text": option.text})
    return tuple(o.key for o in question.options if o.key in seen)


def check_scene_answer(iset: IndicatorSet, scene: Scene, value: Any) -> int | Problem:
    """Accept a scene level 0…max, or say what is wrong."""
    if not _is_whole(value) or not 0 <= value <= iset.max_scene_level:
        return Problem("scene_level_range", N_("{code}: the scene level must be a whole number "
                                               "from 0 to {max}"),
                       scene.code, {"code": scene.code, "max": iset.max_scene_level})
    return int(value)


def _is_whole(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, Decimal | float):
        return math.isfinite(value) and value == int(value)
    return False


def _unknown_option(question: Question, key: Any) -> Problem:
    return Problem("unknown_option", N_("{code}: there is no option {key} (options: {keys})"),
                   question.code, {"code": question.code, "key": key,
                                   "keys": ", ".join(question.option_by_key)})


def check_answer(iset: IndicatorSet, code: str, value: Any) -> Answer | Problem:
    """Accept one answer to question or scene `code`."""
    question = iset.question_by_code.get(code)
    if question is not None:
        return check_question_answer(question, value)
    scene = iset.scene_by_code.get(code)
    if scene is not None:
        return check_scene_answer(iset, scene, value)
    return Problem("unknown_question", N_("{code}: there is no such question in {set}"), code,
                   {"code": code, "set": iset.id})


def check_answers(iset: IndicatorSet, raw: Mapping[str, Any],
                  raw_figures: Mapping[str, Any] | None = None,
                  ) -> tuple[dict[str, Answer], Figures, list[Problem]]:
    """Check a complete answer set, optionally with figures.

    A question left out is answered from the figures when they determine it; an answer given
    beside figures that say otherwise is a problem, not silently overridden.
    """
    problems: list[Problem] = []
    figures, figure_problems = check_figures(iset, raw_figures or {})
    problems.extend(figure_problems)
    answers: dict[str, Answer] = {}
    for code, value in raw.items():
        result = check_answer(iset, code, value)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            answers[code] = result
    for question in iset.questions:
        code = question.code
        rule = question.derivation
        if figures and rule is not None and all(name in figures for name in rule.inputs):
            derived = derive(iset, question, figures)
            if isinstance(derived, list):
                problems.extend(derived)
            elif code not in raw:
                answers[code] = derived.key
            elif code in answers and answers[code] != derived.key:
                problems.append(Problem(
                    "answer_contradicts_figures",
                    N_("{code}: answer {given} contradicts the figures, which give {derived}"),
                    code, {"code": code, "given": answers[code], "derived": derived.key}))
        elif code not in raw:
            problems.append(_missing(code))
    for scene in iset.scenes:
        if scene.code not in raw:
            problems.append(_missing(scene.code))
    return answers, figures, problems


def _missing(code: str) -> Problem:
    return Problem("missing", N_("{code}: not answered"), code, {"code": code})
