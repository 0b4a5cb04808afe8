"""Notice fan-out: one worker sending a campaign to many recipients through the fake WeChat.

Run from the project root: `.venv/bin/python benchmarks/bench_notices.py [--recipients N]`
(or `make bench`). Real parts: a private redis-server, a SQLite file (or `--database-url`),
`dxbot fake-wechat` in its own process, and the worker (`bot.worker.notices`) in this one.
Reports sends/s for one worker (budget >= 1,000) and this process's peak memory, which must not
grow with the audience (the audience is streamed in batches). Exits 1 when a budget is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also works without the editable install
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from bench_oa import free_port, redis_server, wait_port  # noqa: E402  (same folder)
from sqlalchemy import insert  # noqa: E402

from bot.app import new_event_loop  # noqa: E402
from bot.translations import translator  # noqa: E402
from bot.wechat.client import WeChatClient  # noqa: E402
from bot.worker.notices import NoticeChannels, NoticeWorker  # noqa: E402
from flows.notices import NoticeSpec, parse_notice  # noqa: E402
from flows.profile import builtin_reference  # noqa: E402
from storage import deliveries, notices  # noqa: E402
from storage.db import create_engine, migrate, session_factory  # noqa: E402
from storage.models import Person  # noqa: E402
from storage.notice_queue import NoticeQueue  # noqa: E402

OA, SECRET, TEMPLATE = "wxbenchnotice00001", "bench-secret", "tmpl-bench"
SENDS_BUDGET = 1000.0
NOTICE = {"kind": "training", "title": "数字化普及培训", "body": "面向企业负责人。",
          "starts_at": "2026-12-10T09:00:00+08:00", "place": "济南"}


async def seed(sessions: object, count: int, http: aiohttp.ClientSession, fake: str) -> None:
    """`count` subscribed Official Account followers, in our database and at the fake WeChat."""
    now = datetime.now(UTC)
    batch = 2000
    for start in range(0, count, batch):
        rows: list[dict[str, Any]] = [{"id": f"oa:n{i:07d}", "channel": "oa", "openid": f"n{i:07d}",
                 "subscribed": True, "notices_opt_out": False, "created_at": now}
                for i in range(start, min(count, start + batch))]
        async with sessions() as session:  # type: ignore[operator]
            await session.execute(insert(Person), rows)
            await session.commit()

        async def register(openid: str) -> None:
            async with http.post(f"{fake}/_fake/users", json={"appid": OA, "openid": openid}):
                pass
        await asyncio.gather(*(register(r["openid"]) for r in rows))


async def run(args: argparse.Namespace, redis_url: str, tmp: Path) -> list[str]:
    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "fake-wechat", "--port", str(port), "--app",
         f"{OA}:{SECRET}"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failures: list[str] = []
    try:
        wait_port(port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        engine = create_engine(args.database_url or f"sqlite+aiosqlite:///{tmp}/n.sqlite3")
        await migrate(engine)
        sessions = session_factory(engine)
        redis = aioredis.from_url(redis_url)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/_fake/templates",
                                 json={"appid": OA, "template_id": TEMPLATE}):
                pass
            await seed(sessions, args.recipients, http, base)
            spec = parse_notice(NOTICE, builtin_reference(), max_level=4)
            assert isinstance(spec, NoticeSpec)
            stored = await notices.create_notice(sessions, spec, datetime.now(UTC))
            await notices.change_status(sessions, stored.id, "scheduled", datetime.now(UTC),
                                        send_at=datetime.now(UTC) - timedelta(seconds=1))
            client = WeChatClient(http, redis, base=base, appid=OA, secret=SECRET)
            queue = NoticeQueue(redis, stream=f"dx:bench:{os.getpid()}")
            await queue.ensure_group()
            worker = NoticeWorker(sessions, queue, NoticeChannels(client, None, TEMPLATE),
                                  translator("zh_CN"), name="bench",
                                  concurrency=args.concurrency)
            started = time.perf_counter()
            while await worker.run_once(block_ms=100, count=500):
                pass
            elapsed = time.perf_counter() - started
            counts = await deliveries.counts(sessions, stored.id)
        await redis.delete(queue.stream)
        await redis.aclose()
        await engine.dispose()
    finally:
        fake.terminate()
        fake.wait(10)
    sent = counts.get("sent", 0)
    rate = sent / elapsed
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.recipients} recipients: {sent} sent in {elapsed:.1f} s = {rate:.0f} sends/s "
          f"(one worker, concurrency {args.concurrency}); deliveries {counts}; "
          f"peak RSS {peak:.0f} MiB")
    if sent != args.recipients:
        failures.append(f"{args.recipients - sent} recipients not reached")
    if rate < SENDS_BUDGET:
        failures.append(f"{rate:.0f} sends/s < {SENDS_BUDGET:.0f}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)  # DXBOT_NOTICE_CONCURRENCY
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    # The loop `dxbot worker` runs on (uvloop where it is built).
    with tempfile.TemporaryDirectory(prefix="dxbot-bench-") as tmp, \
            redis_server(args.redis_url) as redis, \
            asyncio.Runner(loop_factory=new_event_loop) as runner:
        failures = runner.run(run(args, redis.url, Path(tmp)))
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print(f"ok: >= {SENDS_BUDGET:.0f} sends/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
