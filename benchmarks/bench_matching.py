"""How long matching a result against the province's pool takes: 5,000 solutions.

Run from the project root: `.venv/bin/python benchmarks/bench_matching.py` (or `make bench`).
Builds a pool from a fixed seed (each solution lifts one to four scenes to level 2-4; a third
fit any industry, the others a section or a division; a third of the providers serve the whole
province, the others one to four cities; some free trials and 领军 providers, some retired) and
varied results from scored answer sets, warms up, then times `match` for each result, asked for
the ten best as the chat's 方案 and the mini-program ask (and, for comparison, for every match).
Prints median, p90 and p99 in µs and how many solutions fit a result, and exits 1 when the
median of the ten best exceeds its budget (2 ms: it runs with every result shown).

Then the size of what the chat sends: for every result, its three best with the longest title
and provider name the pool admits (60 characters each, 领军 and free trial), in Chinese, and
the list of ten (方案); each must fit one WeChat reply (2048 bytes) or be paged with 更多 into
replies that do, with nothing lost.
"""

from __future__ import annotations

import functools
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also works without the editable install
    sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scoring import build, measure, report  # noqa: E402

from bot.translations import translator  # noqa: E402
from flows.i18n import PLAIN  # noqa: E402
from flows.indicators import DEFAULT_SET_ID, IndicatorSet, builtin_sets  # noqa: E402
from flows.messages.solutions import proposals  # noqa: E402
from flows.paging import TEXT_REPLY_LIMIT, paginate  # noqa: E402
from flows.pool_fields import PROVIDER_NAME_MAX, TITLE_MAX  # noqa: E402
from flows.profile import ProfileReference, builtin_reference  # noqa: E402
from flows.results import assessment_data  # noqa: E402
from flows.scoring import assess  # noqa: E402
from flows.solutions import MAX_LISTED, Enterprise, Pool, Provider, Solution, match  # noqa: E402
from flows.state import Context  # noqa: E402

SEED = 20261202
SOLUTIONS = 5_000
PROVIDERS = 600
MATCHING_BUDGET_US = 2_000.0


def random_pool(iset: IndicatorSet, reference: ProfileReference,
                rng: random.Random) -> list[Solution]:
    sections = [s.code for s in reference.sections]
    divisions = [f"C{d.code}" for d in reference.divisions.get("C", ())]
    providers = []
    for n in range(PROVIDERS):
        cities = (() if rng.random() < 1 / 3
                  else tuple(rng.sample(reference.cities, rng.randint(1, 4))))
        providers.append(Provider(f"9137{n:014d}", f"服务商{n}", cities,
                                  leading=rng.random() < 0.1))
    codes = [s.code for s in iset.scenes]
    pool = []
    for n in range(1, SOLUTIONS + 1):
        lifts = {code: rng.randint(2, iset.max_scene_level)
                 for code in rng.sample(codes, rng.randint(1, 4))}
        roll = rng.random()
        industries: tuple[str, ...] = (() if roll < 1 / 3
                                       else tuple(rng.sample(divisions, 2)) if roll < 2 / 3
                                       else (rng.choice(sections),))
        pool.append(Solution(id=n, title=f"方案{n}", summary="", provider=rng.choice(providers),
                             lifts=lifts, industries=industries, free_trial=rng.random() < 0.3,
                             retired=rng.random() < 0.05))
    return pool


def longest(solution: Solution) -> Solution:
    """The solution with the longest title and provider name the pool admits."""
    provider = Provider(solution.provider.credit_code, "鲁" * PROVIDER_NAME_MAX,
                        solution.provider.cities, leading=True)
    return Solution(id=solution.id, title="方" * TITLE_MAX, summary="", provider=provider,
                    lifts=solution.lifts, industries=solution.industries, free_trial=True)


def reply_sizes(pool: Pool, iset: IndicatorSet, cases: list[tuple[dict[str, Any], Enterprise]],
                ) -> bool:
    """Whether every result's proposals and list, at their longest, fit or page cleanly."""
    ctx = Context({iset.id: iset}, iset.id, builtin_reference(), translator("zh_CN"))
    widest = Pool.of(longest(s) for s in pool.solutions.values())
    sizes: list[int] = []
    pages: list[int] = []
    for result, enterprise in cases:
        for limit in (3, MAX_LISTED):
            text = proposals(ctx, match(widest, iset, result, enterprise, limit=limit))
            replies = paginate(text, "回复「更多」查看后续内容")
            if any(len(r.encode()) > TEXT_REPLY_LIMIT for r in replies):
                print("FAIL: a reply is longer than WeChat's 2048 bytes")
                return False
            if "".join(replies).replace("\n", "").count("方" * TITLE_MAX) != text.count(
                    "方" * TITLE_MAX):
                print("FAIL: paging lost a solution")
                return False
            if limit == 3:
                sizes.append(len(text.encode()))
            pages.append(len(replies))
    print(f"the three best at their longest: median {statistics.median(sizes):.0f} bytes, "
          f"max {max(sizes)} (one reply holds {TEXT_REPLY_LIMIT}); replies per message: "
          f"max {max(pages)}")
    return True


def main() -> int:
    rng = random.Random(SEED)
    iset = builtin_sets()[DEFAULT_SET_ID]
    reference = builtin_reference()
    pool = Pool.of(random_pool(iset, reference, rng))
    _raws, accepted = build(iset)
    results: list[dict[str, Any]] = [assessment_data(iset, assess(iset, a), PLAIN)
                                     for a in accepted]
    enterprises = [Enterprise(industry=rng.choice(("C", "C", "F", "I")), industry_division="13",
                              city=rng.choice(reference.cities)) for _ in results]
    cases = list(zip(results, enterprises, strict=True))
    print(f"pool of {len(pool.solutions)} live solutions ({SOLUTIONS} with the retired), "
          f"{len(cases)} results, levels {sorted({r['level'] for r in results})}")
    found = [len(match(pool, iset, r, e)) for r, e in cases]
    print(f"solutions proposed per result: median {statistics.median(found):.0f}, "
          f"min {min(found)}, max {max(found)}")

    began = time.perf_counter()
    median = report(f"match, the {MAX_LISTED} best", measure([
        functools.partial(match, pool, iset, r, e, limit=MAX_LISTED) for r, e in cases]))
    report("match, every one", measure([
        functools.partial(match, pool, iset, r, e) for r, e in cases]))
    print(f"measured in {time.perf_counter() - began:.1f} s")
    if not reply_sizes(pool, iset, cases):
        return 1
    if median > MATCHING_BUDGET_US:
        print(f"FAIL: match median {median:.0f} µs exceeds the {MATCHING_BUDGET_US:.0f} µs budget")
        return 1
    print(f"ok: match median {median:.0f} µs is within the {MATCHING_BUDGET_US:.0f} µs budget "
          f"({median / MATCHING_BUDGET_US:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
