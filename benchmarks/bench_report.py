"""The owner's report on a province-sized archive: the page's server time, its weight, the PDF.

Run from the project root: `.venv/bin/python benchmarks/bench_report.py [--enterprises N]
[--database-url URL]` (or `make bench`). Real parts: `dxbot serve`'s application in this
process (embedded Redis, a SQLite file unless a URL is given), its routes over loopback HTTP,
N seeded enterprises (half submitted; the report's peers are thousands of them) and one real
submission whose report is fetched. Budgets: the page's server time (the time to its last byte
over loopback) median <= 30 ms, the page with everything it loads <= 300 KB, the PDF median
<= 1.5 s once its worker process runs (the first one, which starts it, is reported too).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also works without the editable install
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from bench_area import province_main, seed  # noqa: E402  (same folder)
from sqlalchemy import text  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.report.links import ReportLinks  # noqa: E402
from bot.translations import translator  # noqa: E402
from flows.answers import check_answers  # noqa: E402
from flows.indicators import DEFAULT_SET_ID, builtin_sets  # noqa: E402
from flows.profile import credit_code_check_char  # noqa: E402
from flows.results import assessment_data  # noqa: E402
from flows.scoring import assess  # noqa: E402
from storage.archive import Profile, SubmissionRecord, record_submission  # noqa: E402
from storage.db import create_engine, migrate, session_factory  # noqa: E402

PAGE_BUDGET_MS = 30.0
WEIGHT_BUDGET = 300_000  # bytes
PDF_BUDGET_S = 1.5
PAGE_ROUNDS = 60
PDF_ROUNDS = 5


async def subject(url: str, count: int) -> str:
    """Seeds the archive, records the submission whose report is measured; a link's token."""
    engine = create_engine(url)
    await migrate(engine)
    sessions = session_factory(engine)
    iset = builtin_sets()[DEFAULT_SET_ID]
    await seed(sessions, count, [s.code for s in iset.scenes])
    if engine.dialect.name == "postgresql":  # the seed gave its own ids: move the sequences on
        async with engine.begin() as connection:
            for table in ("enterprises", "submissions"):
                await connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"))
    raw = {"B1": ["B", "D"], "B2": "C", "B3": "B", "B4": list("BCDEFG"), "B5": "C",
           "B6": ["B"], "B7": ["B", "C"], "M1": "C", "M2": ["B"], "M3": ["B", "C"], "M4": "B",
           "R1": "B", "R2": "B", "R3": "A", "R4": "B",
           **{scene.code: i % 3 for i, scene in enumerate(iset.scenes)}}
    answers, figures, _problems = check_answers(iset, raw)
    assessment = assess(iset, answers)
    first17 = "91370102MA9RE1234"
    profile = Profile(name="济南报告机械有限公司", credit_code=first17 +
                      credit_code_check_char(first17), city="济南市", county="县1",
                      industry="C", industry_division="C34", employees=120)
    now = datetime.now(UTC)
    stored = await record_submission(sessions, SubmissionRecord(
        draft_id="bench-report", person_id="oa:bench-report", channel="oa",
        indicator_set=iset.id, profile=profile,
        answers={k: list(v) if isinstance(v, tuple) else v for k, v in answers.items()},
        figures=dict(figures), total=assessment.total, dimensions=dict(assessment.dimensions),
        level=assessment.level, level_name=assessment.level_name,
        scene_levels=dict(assessment.scene_levels),
        result=assessment_data(iset, assessment, translator("zh_CN")), started_at=now,
        submitted_at=now))
    link = await ReportLinks(sessions, "http://unused", days=30,
                             clock=time.time).new(stored.submission_id)
    await engine.dispose()
    return link.rsplit("/", 1)[1]


async def run(args: argparse.Namespace, tmp: Path) -> list[str]:
    url = args.database_url or f"sqlite+aiosqlite:///{tmp}/r.sqlite3"
    token = await subject(url, args.enterprises)
    settings = Settings(data_dir=tmp / "data", database_url=url, notice_worker=False)
    server = TestServer(build_app(settings), host="127.0.0.1")
    await server.start_server()
    failures = []
    try:
        async with aiohttp.ClientSession() as http:
            async def get(path: str) -> tuple[float, bytes]:
                started = time.perf_counter()
                async with http.get(server.make_url(path)) as response:
                    body = await response.read()
                    assert response.status == 200, (path, response.status)
                return time.perf_counter() - started, body

            await get(f"/r/{token}")  # warm: templates compiled, pool loaded
            times = [(await get(f"/r/{token}"))[0] for _ in range(PAGE_ROUNDS)]
            _t, html = await get(f"/r/{token}")
            assets = re.findall(rb'(?:src|href)="(/r/static/[^"]+)"', html)
            weight = len(html)
            for asset in assets:
                weight += len((await get(asset.decode()))[1])
            pdf_times = [(await get(f"/r/{token}.pdf"))[0] for _ in range(PDF_ROUNDS + 1)]
            _t, pdf = await get(f"/r/{token}.pdf")
    finally:
        await server.close()
    page_ms = statistics.median(times) * 1000
    pdf_s = statistics.median(pdf_times[1:])
    print(f"{args.enterprises} enterprises; the report of one (its peers: thousands)")
    print(f"  page        median {page_ms:6.1f} ms, p90 "
          f"{statistics.quantiles(times, n=10)[-1] * 1000:.1f} ms over {PAGE_ROUNDS} "
          f"(budget {PAGE_BUDGET_MS:.0f} ms)")
    print(f"  weight      {weight / 1000:6.1f} KB: the page {len(html) / 1000:.1f} KB and "
          f"{len(assets)} stylesheet(s) (budget {WEIGHT_BUDGET / 1000:.0f} KB)")
    print(f"  PDF         median {pdf_s:6.2f} s over {PDF_ROUNDS} (the first, which starts "
          f"the worker: {pdf_times[0]:.2f} s), {len(pdf) / 1000:.0f} KB "
          f"(budget {PDF_BUDGET_S} s)")
    if page_ms > PAGE_BUDGET_MS:
        failures.append(f"page {page_ms:.1f} ms > {PAGE_BUDGET_MS:.0f} ms")
    if weight > WEIGHT_BUDGET:
        failures.append(f"weight {weight} B > {WEIGHT_BUDGET} B")
    if pdf_s > PDF_BUDGET_S:
        failures.append(f"PDF {pdf_s:.2f} s > {PDF_BUDGET_S} s")
    return failures



if __name__ == "__main__":
    sys.exit(province_main(__doc__, run))
