"""From the owner's own numbers to an option: device counts, revenue, energy, cost.

Comparisons are exact (cross-multiplied integers/decimals, no division), so 45 of 120 devices is
exactly 37.5 % and a ratio of exactly 10 % falls in the "[0,10%]" band. Rounding happens only
for display.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal, TypeAlias

from flows.i18n import N_
from flows.indicators import IndicatorSet, Question
from flows.problems import Problem

Figures: TypeAlias = Mapping[str, Decimal]
Direction: TypeAlias = Literal["up", "flat", "down"]

_HUNDRED = Decimal(100)
_MAX_FIGURE = Decimal("1e15")  # beyond any plausible count or 万元 amount; keeps Decimal exact


@dataclass(frozen=True, slots=True)
class Derived:
    """The option the figures give, with the value that decided it (for showing the owner)."""

    code: str
    key: str
    percent: Decimal | None = None  # ratio_band: the ratio as a percentage, exact
    direction: Direction | None = None  # ratio_change
    current: Decimal | None = None  # ratio_change: this year's ratio, rounded for display
    previous: Decimal | None = None

    def display_percent(self, places: int = 1) -> str:
        assert self.percent is not None
        return display_number(self.percent, places)


def display_number(value: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    text = format(value.quantize(quantum, rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_figure(iset: IndicatorSet, name: str, value: Any) -> Decimal | Problem:
    """Accept one reported figure: a finite, non-negative number."""
    figure = iset.figure_by_name.get(name)
    if figure is None:
        return Problem("unknown_figure", N_("{name}: there is no such figure"), name,
                       {"name": name})
    number: Decimal | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float) and math.isfinite(value):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite() or abs(number) > _MAX_FIGURE:
        return Problem("figure_not_number", N_("{figure}: must be a number"), name,
                       {"figure": figure.text})
    if number < 0:
        return Problem("figure_negative", N_("{figure}: must not be negative"), name,
                       {"figure": figure.text})
    return number


def check_figures(iset: IndicatorSet, raw: Mapping[str, Any]) -> tuple[dict[str, Decimal],
                                                                        list[Problem]]:
    figures: dict[str, Decimal] = {}
    problems: list[Problem] = []
    for name, value in raw.items():
        result = parse_figure(iset, name, value)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            figures[name] = result
    return figures, problems


def derive(iset: IndicatorSet, question: Question, figures: Figures) -> Derived | list[Problem]:
    """The option `figures` give for `question`, or every problem that prevents it."""
    rule = question.derivation
    if rule is None:
        return [Problem("not_derivable", N_("{code}: cannot be answered with figures"),
                        question.code, {"code": question.code})]
    missing = [name for name in rule.inputs if name not in figures]
    if missing:
        names = ", ".join(_figure_text(iset, name) for name in missing)
        return [Problem("figure_missing", N_("{code}: still needs {figures}"), question.code,
                        {"code": question.code, "figures": names})]
    if rule.kind == "ratio_band":
        return _derive_band(iset, question, figures)
    return _derive_change(iset, question, figures)


def _figure_text(iset: IndicatorSet, name: str) -> str:
    return iset.figure_by_name[name].text


def _zero(iset: IndicatorSet, question: Question, name: str) -> Problem:
    return Problem("figure_zero", N_("{code}: {figure} must not be zero"), question.code,
                   {"code": question.code, "figure": _figure_text(iset, name)})


def _derive_band(iset: IndicatorSet, question: Question, figures: Figures,
                 ) -> Derived | list[Problem]:
    rule = question.derivation
    assert rule is not None
    num = sum((figures[n] for n in rule.numerator), Decimal(0))
    den = sum((figures[n] for n in rule.denominator), Decimal(0))
    # both sides are means: scale by the other side's count instead of dividing
    num_scaled = num * len(rule.denominator)
    den_scaled = den * len(rule.numerator)
    if den_scaled == 0:
        return [_zero(iset, question, rule.denominator[0])]
    if rule.part_of_whole and num_scaled > den_scaled:
        return [Problem("part_exceeds_whole",
                        N_("{code}: {part} ({part_value}) cannot exceed {whole} ({whole_value})"),
                        question.code,
                        {"code": question.code, "part": _figure_text(iset, rule.numerator[0]),
                         "part_value": display_number(num, 2),
                         "whole": _figure_text(iset, rule.denominator[0]),
                         "whole_value": display_number(den, 2)})]
    percent = num_scaled * _HUNDRED / den_scaled
    for band in rule.bands:
        if num_scaled * _HUNDRED <= band.max_percent * den_scaled:
            return Derived(question.code, band.key, percent=percent)
    top = rule.bands[-1].max_percent
    return [Problem("ratio_out_of_range",
                    N_("{code}: the figures give {percent}%, above the highest band ({top}%); "
                       "please check them"),
                    question.code, {"code": question.code,
                                    "percent": display_number(percent, 1),
                                    "top": display_number(top, 1)})]


def _derive_change(iset: IndicatorSet, question: Question, figures: Figures,
                   ) -> Derived | list[Problem]:
    rule = question.derivation
    assert rule is not None
    (cur_num, cur_den), (prev_num, prev_den) = rule.current, rule.previous
    problems = [_zero(iset, question, name) for name in (cur_den, prev_den) if figures[name] == 0]
    if problems:
        return problems
    # a/b vs c/d with b, d > 0  <=>  a*d vs c*b
    left = figures[cur_num] * figures[prev_den]
    right = figures[prev_num] * figures[cur_den]
    direction: Direction = "up" if left > right else "down" if left < right else "flat"
    return Derived(question.code, rule.outcomes[direction], direction=direction,
                   current=figures[cur_num] / figures[cur_den],
                   previous=figures[prev_num] / figures[prev_den])
