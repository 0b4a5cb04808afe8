"""Commissioners' figures on a province-sized archive: 进度 and a 名单 page of one city, the
province's statistics, the Excel export and a city-wide 催办.

Run from the project root: `.venv/bin/python benchmarks/bench_area.py [--enterprises N]` (or
`make bench`). Real parts: a SQLite file (or `--database-url`), the archive's own queries and
the workbook writer. Seeds N enterprises over the 16 cities (half submitted, a quarter with a
draft in progress), then times each step; exits 1 when one misses its target below (ours: a
phone answer must feel instant, the department's figures and file within a coffee break).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also works without the editable install
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bot.api.area_report import ReportContext, area_statistics, export_workbook  # noqa: E402
from bot.translations import translator  # noqa: E402
from flows.commissioners import Scope  # noqa: E402
from flows.indicators import DEFAULT_SET_ID, builtin_sets  # noqa: E402
from flows.profile import builtin_reference, credit_code_check_char  # noqa: E402
from storage import enterprise_status, nudges  # noqa: E402
from storage.db import create_engine, create_read_engine, migrate, session_factory  # noqa: E402
from storage.models import DraftActivity, Enterprise, Submission  # noqa: E402

TARGETS = {"progress": 0.3, "listing": 0.3, "statistics": 10.0, "export": 30.0,
           "nudge": 5.0}  # seconds
STALL_TARGET = 0.25  # the longest the export may hold up a WeChat callback in the same process


def code(serial: int) -> str:
    first17 = f"91370100MA{serial:07d}"
    return first17 + credit_code_check_char(first17)


async def seed(sessions: object, count: int, scene_codes: list[str]) -> None:
    cities = builtin_reference().cities
    rng = random.Random(7)
    now = datetime.now(UTC)
    batch = 1000
    for start in range(0, count, batch):
        serials = range(start, min(count, start + batch))
        firms = [{"id": i + 1, "credit_code": code(i), "name": f"山东测试{i}有限公司",
                  "city": cities[(i // 4) % len(cities)], "county": f"县{i % 7}",
                  "industry": "CF"[i % 2], "in_roster": True, "created_at": now,
                  "updated_at": now} for i in serials]
        submitted = [{"draft_id": f"d{i}", "enterprise_id": i + 1, "person_id": f"oa:p{i}",
                      "subject_id": f"oa:p{i}", "channel": "oa", "indicator_set": DEFAULT_SET_ID,
                      "answers": {}, "figures": {}, "profile": {},
                      "total": Decimal("40.5"), "foundation": Decimal("20"),
                      "management": Decimal("10"), "effectiveness": Decimal("10.5"),
                      "level": (lv := rng.randint(0, 4)),
                      "level_name": ["未达一级", "一级", "二级", "三级", "四级"][lv],
                      "scene_levels": {c: rng.randint(0, 4) for c in scene_codes},
                      "result": {}, "started_at": now, "submitted_at": now}
                     for i in serials if i % 2 == 0]
        drafts = [{"person_id": f"oa:p{i}", "subject_id": f"oa:p{i}", "draft_id": f"x{i}",
                   "credit_code": code(i), "answered": 12, "total": 31,
                   "started_at": now - timedelta(days=1),
                   "last_active_at": now - timedelta(hours=i % 48)}
                  for i in serials if i % 4 == 1]
        async with sessions() as session:  # type: ignore[operator]
            await session.execute(insert(Enterprise), firms)
            await session.execute(insert(Submission), submitted)
            await session.execute(insert(DraftActivity), drafts)
            await session.commit()


async def watch_loop(stalls: list[float]) -> None:
    """How late a 5 ms timer fires while the export runs: what a WeChat callback served by
    the same process would wait."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(0.005)
        stalls.append(time.perf_counter() - started - 0.005)


T = TypeVar("T")


async def timed(name: str, step: Awaitable[T], figures: dict[str, float]) -> T:
    started = time.perf_counter()
    result = await step
    figures[name] = time.perf_counter() - started
    return result


async def run(args: argparse.Namespace, tmp: Path) -> list[str]:
    iset = builtin_sets()[DEFAULT_SET_ID]
    url = args.database_url or f"sqlite+aiosqlite:///{tmp}/a.sqlite3"
    engine = create_engine(url)
    readers = create_read_engine(url)  # as `dxbot serve` reads figures, lists and files
    await migrate(engine)
    sessions = session_factory(engine)
    reads = sessions if readers is None else session_factory(readers)
    await seed(sessions, args.enterprises, [s.code for s in iset.scenes])
    rc = ReportContext(iset, builtin_reference(), translator("zh_CN"))
    now = datetime.now(UTC)
    jinan = Scope(("济南市",))
    figures: dict[str, float] = {}
    progress = await timed("progress", enterprise_status.progress(reads, jinan, now), figures)
    await timed("listing", enterprise_status.listing(reads, jinan, "in_progress", now,
                                                     limit=200), figures)
    await timed("statistics", area_statistics(reads, None, now, rc), figures)
    stalls: list[float] = []
    watcher = asyncio.create_task(watch_loop(stalls))
    book = await timed("export", export_workbook(reads, None, now, rc), figures)
    watcher.cancel()
    done = await timed("nudge", nudges.nudge_unfinished(
        sessions, jinan, nudges.Nudger(1, "王专员", "济南市"), now), figures)
    assert done is not None  # None: nothing to nudge, which the seeding rules out
    await engine.dispose()
    if readers is not None:
        await readers.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.enterprises} enterprises; 济南 {progress.total} "
          f"({progress.by_status}); export {len(book) / 1e6:.1f} MB; "
          f"nudged {done.nudged} enterprises; peak RSS {peak:.0f} MiB")
    for name, seconds in figures.items():
        print(f"  {name:<10} {seconds * 1000:9.1f} ms (target {TARGETS[name] * 1000:.0f} ms)")
    stall = max(stalls, default=0.0)
    print(f"  the event loop during the export: longest stall {stall * 1000:.0f} ms "
          f"(target {STALL_TARGET * 1000:.0f} ms)")
    failures = [f"{name} {figures[name]:.2f} s > {limit} s" for name, limit in TARGETS.items()
                if figures[name] > limit]
    if stall > STALL_TARGET:
        failures.append(f"the export stalled the event loop {stall * 1000:.0f} ms")
    return failures


def province_main(doc: str,
                  measure: Callable[[argparse.Namespace, Path],
                                    Coroutine[Any, Any, list[str]]]) -> int:
    """The command line of a benchmark on a seeded province (this one's and its neighbours'):
    `--enterprises N`, `--database-url URL`; a temporary directory for its files; exit 1 when
    `measure` names a missed budget."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dxbot-bench-") as tmp:
        failures = asyncio.run(measure(args, Path(tmp)))
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print("ok: within the budgets")
    return 0


if __name__ == "__main__":
    sys.exit(province_main(__doc__, run))
