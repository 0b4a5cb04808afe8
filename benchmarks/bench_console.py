"""The web console on a province-sized archive: each page's server time and weight.

Run from the project root: `.venv/bin/python benchmarks/bench_console.py [--enterprises N]
[--database-url URL]` (or `make bench`). Real parts: `dxbot serve`'s application in this
process over loopback HTTP, a private `redis-server`, a SQLite file unless a URL is given, N
seeded enterprises (half submitted, a quarter with a draft), a province admin's session and a
济南 commissioner's. Budgets: every page's median <= 150 ms but the overview's <= 1 s (it
counts the whole area), each page with its stylesheet <= 500 KB.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also works without the editable install
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from bench_area import code, province_main, seed  # noqa: E402  (same folder)
from bench_oa import redis_server  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from flows.commissioners import Scope  # noqa: E402
from flows.indicators import DEFAULT_SET_ID, builtin_sets  # noqa: E402
from storage import commissioners  # noqa: E402
from storage.console_sessions import ConsoleStore, ConsoleUser  # noqa: E402
from storage.db import create_engine, migrate, session_factory  # noqa: E402

PAGE_BUDGET_MS = 150.0
OVERVIEW_BUDGET_MS = 1000.0
WEIGHT_BUDGET = 500_000
ROUNDS = 20
OVERVIEW_ROUNDS = 5


async def prepare(url: str, count: int) -> int:
    """Seeds the archive; the id of a 济南 commissioner."""
    engine = create_engine(url)
    await migrate(engine)
    sessions = session_factory(engine)
    await seed(sessions, count, [s.code for s in builtin_sets()[DEFAULT_SET_ID].scenes])
    now = datetime.now(UTC)
    added = await commissioners.add(sessions, "王专员", Scope(("济南市",)), "0" * 64,
                                    now + timedelta(days=1), now)
    await engine.dispose()
    return added.id


async def run(args: argparse.Namespace, tmp: Path, redis_url: str) -> list[str]:
    url = args.database_url or f"sqlite+aiosqlite:///{tmp}/c.sqlite3"
    commissioner = await prepare(url, args.enterprises)
    settings = Settings(data_dir=tmp / "data", database_url=url, redis_url=redis_url,
                        notice_worker=False)
    server = TestServer(build_app(settings), host="127.0.0.1")
    await server.start_server()
    redis = aioredis.from_url(redis_url)
    store = ConsoleStore(redis)
    failures: list[str] = []
    try:
        async with aiohttp.ClientSession() as http:
            async def signed_in(user: ConsoleUser) -> str:
                token = await store.new_link(user)
                async with http.post(server.make_url("/console/sign-in"),
                                     data={"token": token}, allow_redirects=False) as r:
                    found = re.match(r"dxbot_console=([^;]*)", r.headers["Set-Cookie"])
                    assert r.status == 303 and found is not None
                    return found.group(1)

            async def get(cookie: str, path: str) -> tuple[float, int]:
                started = time.perf_counter()
                async with http.get(server.make_url(path),
                                    headers={"Cookie": f"dxbot_console={cookie}"}) as r:
                    body = await r.read()
                    assert r.status == 200, (path, r.status)
                return time.perf_counter() - started, len(body)

            css = (await get("", "/console/static/console.css"))[1]
            pages = {
                "overview": "/console",
                "list": "/console/enterprises",
                "list, filtered": "/console/enterprises?status=in_progress&industry=C&q=测试1",
                "list, page 10": "/console/enterprises?page=10",
                "file": f"/console/enterprises/{code(2)}",  # of 济南市, submitted
            }
            print(f"{args.enterprises} enterprises; each page's median over {ROUNDS} rounds "
                  f"(the overview's over {OVERVIEW_ROUNDS})")
            for who, user in (("province", ConsoleUser("省厅", None)),
                              ("济南 commissioner", ConsoleUser("王专员", commissioner))):
                cookie = await signed_in(user)
                for name, path in pages.items():
                    rounds = OVERVIEW_ROUNDS if name == "overview" else ROUNDS
                    await get(cookie, path)  # warm
                    measured = [await get(cookie, path) for _ in range(rounds)]
                    ms = statistics.median(t for t, _n in measured) * 1000
                    weight = measured[0][1] + css
                    budget = OVERVIEW_BUDGET_MS if name == "overview" else PAGE_BUDGET_MS
                    print(f"  {who:<18} {name:<15} {ms:8.1f} ms  {weight / 1000:6.1f} KB "
                          f"(budget {budget:.0f} ms)")
                    if ms > budget:
                        failures.append(f"{who} {name}: {ms:.0f} ms > {budget:.0f} ms")
                    if weight > WEIGHT_BUDGET:
                        failures.append(f"{who} {name}: {weight} B > {WEIGHT_BUDGET} B")
    finally:
        await redis.aclose()
        await server.close()
    return failures



async def run_with_redis(args: argparse.Namespace, tmp: Path) -> list[str]:
    with redis_server(None) as redis:
        return await run(args, tmp, redis.url)


if __name__ == "__main__":
    sys.exit(province_main(__doc__, run_with_redis))
