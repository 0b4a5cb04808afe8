"""The Official Account chat under load: one `dxbot serve` worker, many owners, real Redis.

Run from the project root: `.venv/bin/python benchmarks/bench_oa.py` (or `make bench`).

What runs: a private `redis-server` on a free loopback port (or `--redis-url`), a SQLite file
in a temporary directory (or `--database-url`), and `dxbot serve` as a separate process: one
worker, production code and settings. This process plays WeChat for many owners who walk the
questionnaire (开始测评, the profile, 31 answers, 提交, and again), sending signed XML over
loopback exactly as WeChat does (`WeChatSimulator.envelope`).

Three measurements:
1. throughput: closed loop, `--concurrency` owners each sending their next message as soon as
   the reply arrives -> messages/s (budget >= 3,000);
2. latency at a fixed offered load: `--rate` messages/s (default 1,000) scheduled on a timeline
   whatever the replies do; latency is counted from the scheduled time, so a stall is not hidden
   by sending less (no coordinated omission) -> p50/p99 (budget p99 <= 50 ms);
3. Redis round trips of an ordinary answer: a second server talks to Redis through a counting
   proxy here; one owner answers questions one after another (budget <= 2 per answer).
Exits 1 when a budget is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also works without the editable install
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bot.devtools.simulator import WeChatSimulator  # noqa: E402
from flows.indicators import DEFAULT_SET_ID, builtin_sets  # noqa: E402
from flows.profile import credit_code_check_char  # noqa: E402

TOKEN = "bench-token"
APPID = "wxbench000000000"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
THROUGHPUT_BUDGET = 3000.0  # messages/s, one worker
P99_BUDGET_MS = 50.0  # at RATE
ROUND_TRIP_BUDGET = 2.0  # Redis round trips per ordinary answer
ISET = builtin_sets()[DEFAULT_SET_ID]
PROFILE = ["济南鲁信机械有限公司", "1", "历下区", "C", "34", "120"]


def credit_code(serial: int) -> str:
    first17 = f"91370100MA{serial % 10**7:07d}"
    return first17 + credit_code_check_char(first17)


def script(serial: int, submit: bool = True) -> list[str]:
    """One owner's whole questionnaire: mostly ordinary answers."""
    answers = []
    for i, question in enumerate(ISET.questions):
        answers.append("B C" if question.type == "multiple" else "BCD"[i % 3])
    answers += [str(1 + i % 3) for i, _ in enumerate(ISET.scenes)]
    if submit:
        return ["开始测评", credit_code(serial), *PROFILE, *answers, "提交"]
    # Chat only: after the last scene, keep changing scene answers (修改 N, a level) forever.
    edits = [line for n in range(16, 32) for line in (f"修改 {n}", str(n % 5))]
    return ["开始测评", credit_code(serial), *PROFILE, *answers, *edits * 20]


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """The Redis URL to use: `url`, or a private throwaway server."""
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server not found: install it, or give --redis-url")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--loglevel", "warning"], stdout=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    port: int

    async def ready(self, timeout: float = 60.0) -> None:
        """Wait (without blocking the loop, which may be serving the proxy) until it listens."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dxbot serve exited with {self.process.returncode}")
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return
        raise RuntimeError(f"dxbot serve did not listen within {timeout} s")

    def cpu_seconds(self) -> float:
        """User + system CPU of the worker so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def dxbot_serve(redis_url: str, database_url: str | None, data_dir: Path,
                aes_key: str | None) -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, "DXBOT_DATA_DIR": str(data_dir), "DXBOT_REDIS_URL": redis_url,
           "DXBOT_WECHAT_TOKEN": TOKEN, "DXBOT_WECHAT_APPID": APPID,
           "DXBOT_HOST": "127.0.0.1", "DXBOT_PORT": str(port)}
    env.pop("DXBOT_WECHAT_AES_KEY", None)
    if aes_key:
        env["DXBOT_WECHAT_AES_KEY"] = aes_key
    if database_url:
        env["DXBOT_DATABASE_URL"] = database_url
    else:
        env["DXBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{data_dir}/bench.sqlite3"
    dxbot = Path(sys.executable).with_name("dxbot")
    command = [str(dxbot)] if dxbot.exists() else [sys.executable, "-m", "bot.cli"]
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen([*command, "serve"], env=env, cwd=data_dir, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        yield Server(f"http://127.0.0.1:{port}/wechat", process, port)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# --- the owners ----------------------------------------------------------------------------


@dataclass
class Owner:
    openid: str
    serial: int
    lines: list[str]
    position: int = 0
    submit: bool = True

    def next_line(self, serials: Iterator[int]) -> str:
        if self.position == len(self.lines):  # submitted: a new enterprise, from the start
            self.serial = next(serials)
            self.lines, self.position = script(self.serial, self.submit), 0
        line = self.lines[self.position]
        self.position += 1
        return line


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # seconds
    errors: int = 0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


class Load:
    """Signed messages for many owners, over one connection pool."""

    def __init__(self, url: str, owners: int, aes_key: str | None, run: str, *,
                 submit: bool = True) -> None:
        self.url = url
        self.sim = WeChatSimulator(url, token=TOKEN, appid=APPID, aes_key=aes_key)
        self._serials = iter(range(1 + (hash(run) % 10**6) * 1000, 10**9))
        self.owners = [Owner(f"bench-{run}-{i}", 0, [], 0, submit) for i in range(owners)]
        for owner in self.owners:
            owner.serial = next(self._serials)
            owner.lines = script(owner.serial, submit)
        self.http: aiohttp.ClientSession | None = None

    @asynccontextmanager
    async def session(self, connections: int) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=connections, force_close=False)
        async with aiohttp.ClientSession(connector=connector) as http:
            self.http = http
            yield
        self.http = None

    async def send(self, owner: Owner) -> bool:
        """One message of `owner`, as WeChat pushes it; whether a proper reply came back."""
        assert self.http is not None
        line = owner.next_line(self._serials)
        xml = self.sim.text_xml(owner.openid, line)
        query, body = self.sim.envelope(xml, openid=owner.openid)
        async with self.http.post(self.url, params=query, data=body,
                                  headers={"Content-Type": "text/xml"}) as response:
            text = await response.read()
        return response.status == 200 and text.startswith(b"<xml>")


async def closed_loop(load: Load, concurrency: int, seconds: float) -> tuple[float, Stats]:
    stats = Stats()
    deadline = time.perf_counter() + seconds

    async def owner_loop(owner: Owner) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            ok = await load.send(owner)
            stats.latencies.append(time.perf_counter() - start)
            stats.errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(owner_loop(o) for o in load.owners[:concurrency]))
    elapsed = time.perf_counter() - started
    return len(stats.latencies) / elapsed, stats


async def spread(load: Load, concurrency: int) -> None:
    """Walk every owner to a different place in the questionnaire, as a crowd is at any moment
    (otherwise they would all be at the profile together)."""
    queue = [(owner, (i * 7919) % len(owner.lines)) for i, owner in enumerate(load.owners)]

    async def worker() -> None:
        while queue:
            owner, steps = queue.pop()
            for _ in range(steps):
                await load.send(owner)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def open_loop(load: Load, rate: float, seconds: float) -> tuple[float, Stats]:
    """Send at `rate` on a fixed timeline; each message goes to an owner who is not waiting."""
    stats = Stats()
    idle = list(load.owners)
    tasks: set[asyncio.Task[None]] = set()
    dropped = 0

    async def one(owner: Owner, scheduled: float) -> None:
        ok = await load.send(owner)
        stats.latencies.append(time.perf_counter() - scheduled)
        stats.errors += not ok
        idle.append(owner)

    start = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not idle:
            dropped += 1  # every owner is waiting: counts as an error, not as silence
            continue
        task = asyncio.create_task(one(idle.pop(0), scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    stats.errors += dropped
    return total / (time.perf_counter() - start), stats


# --- counting Redis round trips ------------------------------------------------------------


class RoundTripProxy:
    """A TCP proxy in front of Redis counting request bursts: a client write that follows a
    server reply (or opens the conversation) is one round trip, however many commands it has."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.round_trips = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.target_port)
        waiting = False

        async def up() -> None:
            nonlocal waiting
            while data := await reader.read(65536):
                if not waiting:
                    self.round_trips += 1
                    waiting = True
                upstream_writer.write(data)
                await upstream_writer.drain()
            upstream_writer.close()

        async def down() -> None:
            nonlocal waiting
            while data := await upstream_reader.read(65536):
                waiting = False
                writer.write(data)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(up(), down(), return_exceptions=True)
        except asyncio.CancelledError:  # the benchmark is over
            upstream_writer.close()
            writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def count_round_trips(redis_url: str, database_url: str | None, data_dir: Path,
                            answers: int) -> float:
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    proxy = RoundTripProxy(port)
    proxy_port = await proxy.start()
    try:
        with dxbot_serve(f"redis://127.0.0.1:{proxy_port}/0", database_url,
                         data_dir, None) as server:
            await server.ready()
            load = Load(server.url, 1, None, "rt")
            owner = load.owners[0]
            async with load.session(1):
                for _ in range(1 + 1 + len(PROFILE)):  # to the first question
                    assert await load.send(owner)
                await asyncio.sleep(0.2)
                before = proxy.round_trips
                for _ in range(answers):
                    assert await load.send(owner)
                await asyncio.sleep(0.2)
                return (proxy.round_trips - before) / answers
    finally:
        proxy.close()


# --- main ----------------------------------------------------------------------------------


def report(name: str, rate: float, stats: Stats) -> None:
    print(f"{name:<34} {rate:8.0f} msg/s   p50 {stats.percentile(50):6.2f} ms   "
          f"p99 {stats.percentile(99):6.2f} ms   ({len(stats.latencies)} messages, "
          f"{stats.errors} errors)")


async def run(args: argparse.Namespace, redis_url: str, data_dir: Path) -> list[str]:
    failures: list[str] = []
    aes_key = AES_KEY if args.mode == "safe" else None
    with dxbot_serve(redis_url, args.database_url, data_dir, aes_key) as server:
        await server.ready()
        load = Load(server.url, max(args.owners, args.concurrency), aes_key,
                    f"{time.time():.0f}", submit=not args.no_submit)
        async with load.session(args.concurrency):
            await spread(load, args.concurrency)  # warm-up, not reported
            await closed_loop(load, args.concurrency, args.warmup)
            # The generator's own garbage collector would stall every message in flight and be
            # counted as the server's latency: no collections while measuring.
            gc.collect()
            gc.disable()
            cpu_server, cpu_self = server.cpu_seconds(), time.process_time()
            wall = time.perf_counter()
            rate, stats = await closed_loop(load, args.concurrency, args.duration)
            wall = time.perf_counter() - wall
            report(f"throughput ({args.concurrency} owners at once)", rate, stats)
            print(f"{'':<34} CPU: worker {(server.cpu_seconds() - cpu_server) / wall:.0%}, "
                  f"load generator {(time.process_time() - cpu_self) / wall:.0%} of a core")
            if stats.errors or rate < THROUGHPUT_BUDGET:
                failures.append(f"throughput {rate:.0f} msg/s < {THROUGHPUT_BUDGET:.0f}"
                                if not stats.errors else f"{stats.errors} errors")
            rate, stats = await open_loop(load, args.rate, args.duration)
            gc.enable()
            report(f"offered {args.rate:.0f} msg/s", rate, stats)
            if stats.errors or stats.percentile(99) > P99_BUDGET_MS:
                failures.append(f"p99 {stats.percentile(99):.1f} ms > {P99_BUDGET_MS:.0f} ms"
                                if not stats.errors else f"{stats.errors} errors")
    if args.redis_url is None:
        trips = await count_round_trips(redis_url, args.database_url, data_dir / "rt",
                                        args.answers)
        print(f"{'Redis round trips per answer':<34} {trips:8.2f}   "
              f"({args.answers} ordinary answers in a row)")
        if trips > ROUND_TRIP_BUDGET:
            failures.append(f"{trips:.2f} Redis round trips per answer > {ROUND_TRIP_BUDGET:.0f}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=64,
                        help="owners sending at once in the throughput run")
    parser.add_argument("--owners", type=int, default=300,
                        help="simulated owners for the fixed-rate run")
    parser.add_argument("--rate", type=float, default=1000.0, help="offered messages/s")
    parser.add_argument("--answers", type=int, default=25,
                        help="answers in the round-trip count")
    parser.add_argument("--mode", choices=("plain", "safe"), default="plain",
                        help="明文 or 安全模式 (AES) messages")
    parser.add_argument("--redis-url", help="use this Redis (the round-trip count needs the "
                        "private server and is skipped)")
    parser.add_argument("--database-url", help="default: a SQLite file in a temp dir")
    parser.add_argument("--no-submit", action="store_true",
                        help="owners never submit: the chat's cost without the archive's")
    parser.add_argument("--quick", action="store_true", help="2-second runs, for a smoke check")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.answers = 2.0, 0.5, 5
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"one dxbot serve worker, {args.mode} mode, {args.duration:g} s per measurement")
    with tempfile.TemporaryDirectory(prefix="dxbot-bench-") as tmp, \
            redis_server(args.redis_url) as redis_url:
        failures = asyncio.run(run(args, redis_url, Path(tmp)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load generator peak RSS {peak:.0f} MiB")
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print(f"ok: >= {THROUGHPUT_BUDGET:.0f} msg/s, p99 <= {P99_BUDGET_MS:.0f} ms at "
          f"{args.rate:.0f} msg/s, <= {ROUND_TRIP_BUDGET:.0f} Redis round trips per answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
