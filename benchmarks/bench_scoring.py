"""How long scoring takes: `assess` alone, and checking raw answers plus `assess`.

Run from the project root: `.venv/bin/python benchmarks/bench_scoring.py` (or `make bench`).
Builds varied, valid answer sets from a fixed seed (some with figures instead of the derivable
answers), warms up, then times every call with `time.perf_counter_ns`. Prints median, p90 and p99
in µs and exits 1 when the median of `assess` exceeds its budget (50 µs: it runs on every
submission and every result view).
"""

from __future__ import annotations

import functools
import gc
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also works without the editable install
    sys.path.insert(0, str(ROOT))

from flows.answers import Answer, check_answers  # noqa: E402
from flows.indicators import DEFAULT_SET_ID, IndicatorSet, builtin_sets  # noqa: E402
from flows.scoring import assess  # noqa: E402

SEED = 20240904
ANSWER_SETS = 50
WARMUP_ROUNDS = 3
ROUNDS = 200  # x ANSWER_SETS timed calls per measurement
SCORING_BUDGET_US = 50.0


def random_raw(iset: IndicatorSet, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """One answer set as a client sends it (JSON-decoded), and figures for about a third."""
    answers: dict[str, Any] = {}
    strength = rng.random()  # how often this enterprise gives the best answer
    for q in iset.questions:
        exclusive = [o.key for o in q.options if o.exclusive]
        others = [o.key for o in q.options if not o.exclusive]
        if q.type == "single":
            best = max(q.options, key=lambda o: o.score).key
            answers[q.code] = best if rng.random() < strength else rng.choice(q.options).key
        elif rng.random() < strength:
            answers[q.code] = rng.sample(others, len(others))  # any order: it is normalised
        elif exclusive and rng.random() < 0.15:
            answers[q.code] = [rng.choice(exclusive)]
        else:
            answers[q.code] = rng.sample(others, rng.randint(1, len(others)))
    # skew scene levels per set so that every level 0...4 is reached somewhere
    bias = rng.randint(0, iset.max_scene_level)
    for scene in iset.scenes:
        level = bias + rng.choice((-2, -1, 0, 0, 1))
        answers[scene.code] = min(iset.max_scene_level, max(0, level))
    figures: dict[str, Any] = {}
    if rng.random() < 1 / 3:
        total = rng.randint(1, 500)
        revenue_last, revenue_before = rng.randint(100, 10_000), rng.randint(100, 10_000)
        figures = {
            "production_equipment_total": total,
            "digital_equipment": rng.randint(0, total),
            "networked_equipment": rng.randint(0, total),
            "digital_investment_per_year": rng.randint(0, min(revenue_last, revenue_before)),
            "revenue_last_year": revenue_last, "revenue_year_before": revenue_before,
            "employees_last_year": rng.randint(1, 300),
            "employees_year_before": rng.randint(1, 300),
            "energy_last_year": rng.randint(1, 5_000),
            "energy_year_before": rng.randint(1, 5_000),
            "cost_last_year": rng.randint(50, 9_000),
            "cost_year_before": rng.randint(50, 9_000),
        }
        for q in iset.questions:
            if q.derivation is not None:
                del answers[q.code]  # the figures answer it
    # the shape the bot receives: JSON, with decimals kept exact
    return (json.loads(json.dumps(answers), parse_float=Decimal),
            json.loads(json.dumps(figures), parse_float=Decimal))


def build(iset: IndicatorSet) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]],
                                       list[dict[str, Answer]]]:
    rng = random.Random(SEED)
    raws, accepted = [], []
    for _ in range(ANSWER_SETS):
        raw, figures = random_raw(iset, rng)
        answers, _figures, problems = check_answers(iset, raw, figures)
        if problems:
            first = problems[0]
            raise SystemExit(f"benchmark data is invalid: {first.message} {first.params}")
        raws.append((raw, figures))
        accepted.append(answers)
    return raws, accepted


def measure(calls: list[Callable[[], object]]) -> list[float]:
    """Each call's duration in µs, over WARMUP_ROUNDS untimed then ROUNDS timed rounds."""
    for _ in range(WARMUP_ROUNDS):
        for call in calls:
            call()
    samples: list[int] = []
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()  # as timeit does: a collection mid-call is not the code's cost
    try:
        for _ in range(ROUNDS):
            for call in calls:
                start = clock()
                call()
                samples.append(clock() - start)
    finally:
        gc.enable()
    return [ns / 1000 for ns in samples]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, round(fraction * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _check_and_assess(iset: IndicatorSet, raw: Any, figures: Any) -> object:
    return assess(iset, check_answers(iset, raw, figures)[0])


def report(label: str, samples: list[float]) -> float:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    print(f"{label:<34} median {median:8.1f} µs   p90 {percentile(ordered, 0.90):8.1f} µs   "
          f"p99 {percentile(ordered, 0.99):8.1f} µs   ({len(ordered)} calls)")
    return median


def main() -> int:
    iset = builtin_sets()[DEFAULT_SET_ID]
    raws, accepted = build(iset)
    levels = sorted({assess(iset, a).level for a in accepted})
    with_figures = sum(1 for _, figures in raws if figures)
    print(f"Python {platform.python_version()} on {platform.machine()}; {len(raws)} answer sets "
          f"({with_figures} with figures), levels {levels}; {ROUNDS} rounds after "
          f"{WARMUP_ROUNDS} warm-up")

    began = time.perf_counter()
    scoring = report("assess", measure([
        functools.partial(assess, iset, a) for a in accepted]))
    report("check_answers + assess (raw JSON)", measure([
        functools.partial(_check_and_assess, iset, raw, figures) for raw, figures in raws]))
    print(f"measured in {time.perf_counter() - began:.1f} s")

    if scoring > SCORING_BUDGET_US:
        print(f"FAIL: assess median {scoring:.1f} µs exceeds the {SCORING_BUDGET_US:.0f} µs budget")
        return 1
    print(f"ok: assess median {scoring:.1f} µs is within the {SCORING_BUDGET_US:.0f} µs budget "
          f"({scoring / SCORING_BUDGET_US:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
