"""The Official Account chat's cost per message, against a minimal server measured in the same run.

Run from the project root: `.venv/bin/python benchmarks/bench_oa.py [--postgres-url URL]` (or
`make bench`, which passes DXBOT_BENCH_POSTGRES_URL when it is set).

What runs: a private `redis-server` on a free loopback port (or `--redis-url`), and as separate
processes, each one worker: the skeleton (`skeleton_server.py`: the signature, the parse, one
Redis pipeline, one write, the XML reply, written plainly), `dxbot serve` on a SQLite file in a
temporary directory and, with `--postgres-url`, `dxbot serve` on that PostgreSQL database:
production code and settings. This process plays WeChat for many owners who walk the
questionnaire (开始测评, the profile, 31 answers, 提交, and again), sending signed XML over
loopback exactly as WeChat does (`WeChatSimulator.envelope`). The answers come from the indicator
set (its option keys, question types and scene levels), so every one of them is accepted.

Every reply of every walk is checked against what its step must produce: the prompt of the next
profile step (by its number), of the next question or scene (by its code and title), the review
(the enterprise's credit code and the answers given), or after 提交 the result with the level the
answers score; the skeleton's replies begin with the text sent. One reply that is anything else
(an error reply, a resumed draft, a failed submission) fails the run, and the first one is
printed: an error reply is a fast reply, and a walk that goes wrong would otherwise be measured
as a quick one.

The measurements, closed loop (`--concurrency` owners each sending their next message as soon
as the reply arrives), in `--rounds` interleaved rounds of `--duration` seconds each:
- skeleton: the yardstick;
- chat: owners who never submit (the review, then every scene changed again and again);
- mix SQLite / mix PostgreSQL: whole walks, one submission per 40 messages.
For each: the server's CPU per message from the kernel's accounting (/proc, user + system, all
threads), Redis's CPU per message (private server only), messages/s, p50 and p99. The ratio is
a configuration's CPU per message over the skeleton's in the same round; the table gives the
medians over the rounds (p50/p99 over every message of every round). Budgets: chat <= 1.2x,
each mix <= 2.0x, p99 <= 50 ms for the product. Then the Redis round trips of an ordinary
answer: a second server talks to Redis through a counting proxy; one owner answers questions one
after another (budget <= 2 per answer). Exits 1 when a budget is missed or a reply is not the
one expected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from statistics import median
from typing import ClassVar, Literal

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also works without the editable install
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bot.devtools.simulator import WeChatSimulator  # noqa: E402
from flows.answers import check_answers  # noqa: E402
from flows.indicators import DEFAULT_SET_ID, Question, Scene, builtin_sets  # noqa: E402
from flows.profile import credit_code_check_char  # noqa: E402
from flows.scoring import assess  # noqa: E402

TOKEN = "bench-token"
APPID = "wxbench000000000"
CHAT_RATIO_BUDGET = 1.2  # CPU per message over the skeleton's
MIX_RATIO_BUDGET = 2.0
P99_BUDGET_MS = 50.0  # closed loop
ROUND_TRIP_BUDGET = 2.0  # Redis round trips per ordinary answer
ISET = builtin_sets()[DEFAULT_SET_ID]
PROFILE = ["济南鲁信机械有限公司", "1", "历下区", "C", "34", "120"]  # name … employees
EDIT_ROUNDS = 20  # --no-submit: times every scene is changed again after the review


def credit_code(serial: int) -> str:
    first17 = f"91370100MA{serial % 10**7:07d}"
    return first17 + credit_code_check_char(first17)


# --- the walk and what each reply must be ----------------------------------------------------
# Replies are recognised by what the indicator data and the walk put in them (codes, titles,
# numbers, the credit code, level names), never by the wording around them, which is translated.


@cache
def _step_number(n: int) -> re.Pattern[str]:
    """`n/total` as a whole, in a profile prompt's first line (企业信息 2/6)."""
    return re.compile(rf"(?<![\d/]){n}/\d+(?![\d/])")


@dataclass(frozen=True, slots=True)
class ProfileStep:
    """The prompt of profile step `n` alone (an error reply is a line, a blank line, a prompt)."""

    n: int

    def ok(self, reply: str, credit: str) -> bool:
        first = reply.partition("\n")[0]
        return "\n\n" not in reply and _step_number(self.n).search(first) is not None

    def __str__(self) -> str:
        return f"the prompt of profile step {self.n}"


@dataclass(frozen=True, slots=True)
class Started:
    """开始测评 with no draft: a line naming the number of questions, then profile step 1."""

    questions: int

    def ok(self, reply: str, credit: str) -> bool:
        head, blank, prompt = reply.partition("\n\n")
        return bool(blank) and str(self.questions) in head and ProfileStep(1).ok(prompt, credit)

    def __str__(self) -> str:
        return f"the start ({self.questions} questions) and profile step 1"


@dataclass(frozen=True, slots=True)
class Asked:
    """The prompt of one question or scene alone: its second line is the code and the title."""

    code: str
    title: str

    def ok(self, reply: str, credit: str) -> bool:
        lines = reply.split("\n", 2)
        return "\n\n" not in reply and len(lines) > 1 and lines[1].startswith(self.title)

    def __str__(self) -> str:
        return f"the prompt of {self.code}"


def asked(code: str) -> Asked:
    question = ISET.question_by_code.get(code)
    if question is not None:
        return Asked(code, f"{code} {question.title}")
    return Asked(code, f"{code} {ISET.scene_by_code[code].name}")


_SHOWN = re.compile(r"[A-Z]|\d+")  # the option keys or the level in a review line


@dataclass(frozen=True, slots=True)
class Review:
    """The review alone: the credit code of the walk, a line per question and scene (`n. CODE
    answer`) with the answers in `shown` as given; whatever joins the keys is not checked."""

    shown: tuple[tuple[str, tuple[str, ...]], ...]  # ("12. R1 ", ("B",)), …
    last: ClassVar[str] = f"\n{len(ISET.codes)}. {ISET.codes[-1]} "  # the review is whole

    def ok(self, reply: str, credit: str) -> bool:
        if "\n\n" in reply or credit not in reply or self.last not in reply:
            return False
        for prefix, keys in self.shown:
            start = reply.find("\n" + prefix)
            if start < 0:
                return False
            start += 1 + len(prefix)
            end = reply.find("\n", start)
            if tuple(_SHOWN.findall(reply[start:end if end >= 0 else None])) != keys:
                return False
        return True

    def __str__(self) -> str:
        return "the review with " + ", ".join(f"{p.strip()} {' '.join(k)}" for p, k in self.shown)


def review_line(code: str, value: str | list[str] | int) -> tuple[str, tuple[str, ...]]:
    keys = tuple(value) if isinstance(value, list) else (str(value),)
    return f"{ISET.codes.index(code) + 1}. {code} ", keys


@dataclass(frozen=True, slots=True)
class Result:
    """The result after 提交: the enterprise's name first; the first line naming a level names
    `level` and no other (一级 is part of 未达一级: names inside `level` do not count)."""

    level: str
    others: tuple[str, ...]

    def ok(self, reply: str, credit: str) -> bool:
        lines = reply.split("\n")
        if PROFILE[0] not in lines[0]:
            return False
        for line in lines[1:]:
            if self.level in line:
                return not any(other in line for other in self.others)
            if any(other in line for other in self.others):
                return False
        return False

    def __str__(self) -> str:
        return f"the result of {PROFILE[0]} at {self.level}"


def result(level: str) -> Result:
    names = [ISET.below_level_name, *(rule.name for rule in ISET.level_rules)]
    return Result(level, tuple(name for name in names if name not in level))


Expect = ProfileStep | Started | Asked | Review | Result


@dataclass(frozen=True, slots=True)
class Step:
    """One message of a walk (None: this walk's credit code) and what its reply must be."""

    text: str | None
    expect: Expect
    submits: bool = False


def single_choice(question: Question, i: int) -> str:
    """The second, third and fourth options by turns (B C D), as far as the options go."""
    keys = [option.key for option in question.options][1:4]
    return keys[i % len(keys)]


def multiple_choice(question: Question) -> list[str]:
    """Two options that may go together (B C)."""
    return [option.key for option in question.options if not option.exclusive][:2]


def scene_level(scene: Scene, i: int) -> int:
    """Levels 1, 2 and 3 by turns, as far as the scene goes."""
    return sorted(scene.levels)[:3][i % min(3, len(scene.levels))]


def ordinary_answers() -> dict[str, str | list[str] | int]:
    """Every question and scene answered, as the conversation keeps the answers."""
    answers: dict[str, str | list[str] | int] = {}
    for i, question in enumerate(ISET.questions):
        answers[question.code] = (multiple_choice(question) if question.type == "multiple"
                                  else single_choice(question, i))
    for i, scene in enumerate(ISET.scenes):
        answers[scene.code] = scene_level(scene, i)
    return answers


def answer_text(value: str | list[str] | int) -> str:
    return " ".join(value) if isinstance(value, list) else str(value)


@cache
def walk(submit: bool = True) -> tuple[Step, ...]:
    """One owner's whole questionnaire, each message with the reply it must get: 开始测评, the
    credit code and the profile, every question and scene, then 提交; or (`submit` False) the
    review, then every scene changed again, `EDIT_ROUNDS` times."""
    answers = ordinary_answers()
    checked, _figures, problems = check_answers(ISET, answers)
    if problems:  # the indicator set changed under the walk
        raise RuntimeError(f"the walk's answers are not valid: {problems}")
    codes = ISET.codes
    steps = [Step("开始测评", Started(len(codes))), Step(None, ProfileStep(2))]
    steps += [Step(text, ProfileStep(n)) for n, text in enumerate(PROFILE[:-1], 3)]
    after = [asked(code) for code in codes] + [
        Review(tuple(review_line(code, answers[code]) for code in codes))]
    steps.append(Step(PROFILE[-1], after[0]))
    steps += [Step(answer_text(answers[code]), after[n]) for n, code in enumerate(codes, 1)]
    if submit:
        steps.append(Step("提交", result(assess(ISET, checked).level_name), submits=True))
        return tuple(steps)
    edits = []
    for scene in ISET.scenes:
        n = codes.index(scene.code) + 1
        levels = (0, *sorted(scene.levels))
        level = levels[n % len(levels)]
        edits += [Step(f"修改 {n}", asked(scene.code)),
                  Step(str(level), Review((review_line(scene.code, level),)))]
    return tuple(steps + edits * EDIT_ROUNDS)


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    url: str
    pid: int | None  # a private server's, whose CPU is then counted


@contextmanager
def redis_server(url: str | None) -> Iterator[RedisServer]:
    """The Redis to use: `url`, or a private throwaway server."""
    if url:
        yield RedisServer(url, None)
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
        yield RedisServer(f"redis://127.0.0.1:{port}/0", process.pid)
    finally:
        process.terminate()
        process.wait(10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    name: str
    url: str
    process: subprocess.Popen[bytes]
    port: int

    async def ready(self, timeout: float = 60.0) -> None:
        """Wait (without blocking the loop, which may be serving the proxy) until it listens."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return
        raise RuntimeError(f"{self.name} did not listen within {timeout} s")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)


@contextmanager
def dxbot_serve(redis_url: str, database_url: str | None, data_dir: Path) -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, "DXBOT_DATA_DIR": str(data_dir), "DXBOT_REDIS_URL": redis_url,
           "DXBOT_WECHAT_TOKEN": TOKEN, "DXBOT_WECHAT_APPID": APPID,
           "DXBOT_HOST": "127.0.0.1", "DXBOT_PORT": str(port)}
    env.pop("DXBOT_WECHAT_AES_KEY", None)  # 明文模式: the skeleton decrypts nothing either
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
        yield Server("dxbot serve", f"http://127.0.0.1:{port}/wechat", process, port)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextmanager
def skeleton_serve(redis_url: str, data_dir: Path) -> Iterator[Server]:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "skeleton.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("skeleton_server.py")), "--port", str(port),
         "--redis-url", redis_url, "--token", TOKEN],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        yield Server("the skeleton", f"http://127.0.0.1:{port}/wechat", process, port)
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
    """One phone: walks `walk` again and again, each time for a new enterprise. A walk that ends
    at the review (--no-submit) leaves its draft, so the next one is another person's."""

    name: str
    walk: tuple[Step, ...]
    serial: int
    openid: str = ""
    code: str = ""  # this walk's credit code
    position: int = 0
    walks: int = 0

    def __post_init__(self) -> None:
        self.openid, self.code = self.name, credit_code(self.serial)

    def next_step(self, serials: Iterator[int]) -> Step:
        if self.position == len(self.walk):  # at the end: a new enterprise, from the start
            self.serial, self.position, self.walks = next(serials), 0, self.walks + 1
            self.code = credit_code(self.serial)
            if not self.walk[-1].submits:
                self.openid = f"{self.name}-{self.walks}"
        step = self.walk[self.position]
        self.position += 1
        return step


Verdict = Literal["expected", "submitted", "unexpected", "error"]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # seconds
    errors: int = 0  # no proper reply (HTTP status, not XML), or no owner free to send
    unexpected: int = 0  # a reply, but not the one its step must get
    submissions: int = 0  # results after 提交

    def note(self, verdict: Verdict) -> None:
        self.errors += verdict == "error"
        self.unexpected += verdict == "unexpected"
        self.submissions += verdict == "submitted"

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


@dataclass
class Mismatches:
    """Every message of the run whose reply was not the expected one (warm-up included)."""

    count: int = 0
    first: str | None = None

    def add(self, description: str) -> None:
        self.count += 1
        if self.first is None:
            self.first = description


def _element(xml: str, name: str) -> str | None:
    """The text of the first <name> element of a WeChat message (CDATA or bare), if any."""
    start = xml.find(f"<{name}>")
    end = xml.find(f"</{name}>", start)
    if start < 0 or end < 0:
        return None
    value = xml[start + len(name) + 2:end]
    if value.startswith("<![CDATA[") and value.endswith("]]>"):
        # a "]]>" inside the text goes out as "]]]]><![CDATA[>" (two sections)
        return value[9:-3].replace("]]]]><![CDATA[>", "]]>")
    return value


class Load:
    """Signed messages for many owners, over one connection pool."""

    def __init__(self, url: str, owners: int, run: str, *, submit: bool = True,
                 skeleton: bool = False, mismatches: Mismatches | None = None) -> None:
        self.url = url
        self.sim = WeChatSimulator(url, token=TOKEN, appid=APPID)
        self.skeleton = skeleton  # its replies begin with the text sent
        self.mismatches = Mismatches() if mismatches is None else mismatches
        self._serials = iter(range(1 + (hash(run) % 10**6) * 1000, 10**9))
        self.owners = [Owner(f"bench-{run}-{i}", walk(submit), next(self._serials))
                       for i in range(owners)]
        self.http: aiohttp.ClientSession | None = None

    @asynccontextmanager
    async def session(self, connections: int) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=connections, force_close=False)
        async with aiohttp.ClientSession(connector=connector) as http:
            self.http = http
            yield
        self.http = None

    async def send(self, owner: Owner) -> Verdict:
        """The next message of `owner`, as WeChat pushes it; whether its reply is the one the step
        must get ("submitted" for a result after 提交)."""
        assert self.http is not None
        step = owner.next_step(self._serials)
        text = owner.code if step.text is None else step.text
        xml = self.sim.text_xml(owner.openid, text)
        query, body = self.sim.envelope(xml, openid=owner.openid)
        async with self.http.post(self.url, params=query, data=body,
                                  headers={"Content-Type": "text/xml"}) as response:
            raw = await response.read()
        if response.status != 200 or not raw.startswith(b"<xml>"):
            self._mismatch(owner, text, step, f"HTTP {response.status}: {raw[:200]!r}")
            return "error"
        reply = self.reply_text(raw.decode("utf-8", "replace"), owner.openid)
        if reply is None:
            self._mismatch(owner, text, step, f"not a text reply to {owner.openid}: {raw!r}")
            return "unexpected"
        if not (reply.startswith(text + "\n") if self.skeleton
                else step.expect.ok(reply, owner.code)):
            self._mismatch(owner, text, step, reply)
            return "unexpected"
        return "submitted" if step.submits and not self.skeleton else "expected"

    def reply_text(self, xml: str, openid: str) -> str | None:
        """The text of a passive reply to `openid`, or None if it is none. Read by hand: parsing
        the XML (as the simulator does) would cost the load generator some 20 µs a reply."""
        if _element(xml, "ToUserName") != openid or _element(xml, "MsgType") != "text":
            return None
        return _element(xml, "Content")

    def _mismatch(self, owner: Owner, text: str, step: Step, reply: str) -> None:
        self.mismatches.add(f"{owner.openid}, message {owner.position} of its walk {text!r}: "
                            f"expected {step.expect}; the reply was:\n{reply}")


async def closed_loop(load: Load, concurrency: int, seconds: float) -> tuple[float, Stats]:
    stats = Stats()
    deadline = time.perf_counter() + seconds

    async def owner_loop(owner: Owner) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            verdict = await load.send(owner)
            stats.latencies.append(time.perf_counter() - start)
            stats.note(verdict)

    started = time.perf_counter()
    await asyncio.gather(*(owner_loop(o) for o in load.owners[:concurrency]))
    elapsed = time.perf_counter() - started
    return len(stats.latencies) / elapsed, stats


async def spread(load: Load, concurrency: int) -> None:
    """Walk every owner to a different place in the questionnaire, as a crowd is at any moment
    (otherwise they would all be at the profile together)."""
    queue = [(owner, (i * 7919) % len(owner.walk)) for i, owner in enumerate(load.owners)]

    async def worker() -> None:
        while queue:
            owner, steps = queue.pop()
            for _ in range(steps):
                await load.send(owner)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


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


async def count_round_trips(redis_url: str, data_dir: Path, answers: int,
                            mismatches: Mismatches) -> float:
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    proxy = RoundTripProxy(port)
    proxy_port = await proxy.start()
    try:
        with dxbot_serve(f"redis://127.0.0.1:{proxy_port}/0", None, data_dir) as server:
            await server.ready()
            load = Load(server.url, 1, "rt", mismatches=mismatches)
            owner = load.owners[0]
            async with load.session(1):
                for _ in range(1 + 1 + len(PROFILE)):  # to the first question
                    await load.send(owner)
                await asyncio.sleep(0.2)
                before = proxy.round_trips
                for _ in range(answers):
                    await load.send(owner)
                await asyncio.sleep(0.2)
                return (proxy.round_trips - before) / answers
    finally:
        proxy.close()


# --- the rounds ----------------------------------------------------------------------------


@dataclass
class Measured:
    """One configuration in one round."""

    messages: int
    server_cpu: float  # seconds
    redis_cpu: float | None
    rate: float  # messages/s
    stats: Stats

    @property
    def cpu_us(self) -> float:
        return self.server_cpu / self.messages * 1e6


@dataclass
class Configuration:
    name: str
    server: Server
    load: Load
    ratio_budget: float | None  # None for the skeleton; the product's configurations have one
    rounds: list[Measured] = field(default_factory=list)

    def ratios(self, skeleton: Configuration) -> list[float]:
        return [mine.cpu_us / its.cpu_us for mine, its in zip(self.rounds, skeleton.rounds,
                                                                strict=True)]

    def latencies(self) -> Stats:
        every = Stats()
        for measured in self.rounds:
            every.latencies += measured.stats.latencies
            every.errors += measured.stats.errors
            every.unexpected += measured.stats.unexpected
            every.submissions += measured.stats.submissions
        return every


async def measure(config: Configuration, redis: RedisServer, concurrency: int,
                  seconds: float) -> Measured:
    # The generator's own garbage collector would stall every message in flight and be counted
    # as the server's latency: no collections while measuring.
    gc.collect()
    gc.disable()
    try:
        server_cpu = config.server.cpu_seconds()
        redis_cpu = None if redis.pid is None else cpu_seconds(redis.pid)
        rate, stats = await closed_loop(config.load, concurrency, seconds)
        server_cpu = config.server.cpu_seconds() - server_cpu
        if redis.pid is not None and redis_cpu is not None:
            redis_cpu = cpu_seconds(redis.pid) - redis_cpu
    finally:
        gc.enable()
    return Measured(len(stats.latencies), server_cpu, redis_cpu, rate, stats)


def table(configs: list[Configuration]) -> None:
    skeleton = configs[0]
    print(f"{'':<16} {'CPU µs/msg':>10} {'ratio':>6} {'Redis µs':>9} {'msg/s':>7} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'submissions':>12}")
    for config in configs:
        every = config.latencies()
        redis = [m.redis_cpu / m.messages * 1e6 for m in config.rounds if m.redis_cpu is not None]
        per = (f"1 per {len(every.latencies) / every.submissions:.0f}" if every.submissions
               else "none")
        print(f"{config.name:<16} {median(m.cpu_us for m in config.rounds):10.0f} "
              f"{median(config.ratios(skeleton)):5.2f}x "
              f"{median(redis) if redis else float('nan'):9.0f} "
              f"{median(m.rate for m in config.rounds):7.0f} {every.percentile(50):7.2f} "
              f"{every.percentile(99):7.2f} {per:>12}")
    print("(medians over the rounds; the ratio is to the skeleton's CPU in the same round)")


def verdicts(configs: list[Configuration]) -> list[str]:
    failures = []
    skeleton = configs[0]
    for config in configs:
        every = config.latencies()
        if every.errors or every.unexpected:
            failures.append(f"{config.name}: {bad_replies(every)}")
            continue
        ratio = median(config.ratios(skeleton))
        if config.ratio_budget is not None and ratio > config.ratio_budget:
            failures.append(f"{config.name}: {ratio:.2f}x the skeleton's CPU per message > "
                            f"{config.ratio_budget:.1f}x")
        if config.ratio_budget is not None and every.percentile(99) > P99_BUDGET_MS:
            failures.append(f"{config.name}: p99 {every.percentile(99):.1f} ms > "
                            f"{P99_BUDGET_MS:.0f} ms")
    return failures


# --- main ----------------------------------------------------------------------------------


def bad_replies(stats: Stats) -> str:
    return f"{stats.errors} errors, {stats.unexpected} unexpected replies"


async def run(args: argparse.Namespace, redis: RedisServer, data_dir: Path) -> list[str]:
    mismatches = Mismatches()
    run_id = f"{time.time():.0f}"
    with ExitStack() as stack:
        skeleton = stack.enter_context(skeleton_serve(redis.url, data_dir / "skeleton"))
        on_sqlite = stack.enter_context(dxbot_serve(redis.url, None, data_dir / "sqlite"))
        on_postgres = (None if args.postgres_url is None else stack.enter_context(
            dxbot_serve(redis.url, args.postgres_url, data_dir / "postgres")))
        owners = args.concurrency

        def load(server: Server, name: str, **kw: bool) -> Load:
            return Load(server.url, owners, f"{run_id}-{name}", mismatches=mismatches, **kw)

        configs = [
            Configuration("skeleton", skeleton, load(skeleton, "skeleton", skeleton=True), None),
            Configuration("chat", on_sqlite, load(on_sqlite, "chat", submit=False),
                          CHAT_RATIO_BUDGET),
            Configuration("mix SQLite", on_sqlite, load(on_sqlite, "sqlite"), MIX_RATIO_BUDGET)]
        if on_postgres is not None:
            configs.append(Configuration("mix PostgreSQL", on_postgres,
                                         load(on_postgres, "postgres"), MIX_RATIO_BUDGET))
        for server in {id(c.server): c.server for c in configs}.values():
            await server.ready()
        async with contextlib.AsyncExitStack() as sessions:
            for config in configs:  # warm-up, not reported
                await sessions.enter_async_context(config.load.session(args.concurrency))
                await spread(config.load, args.concurrency)
                await closed_loop(config.load, args.concurrency, args.warmup)
            for n in range(args.rounds):
                # Interleaved, each round in another order: whatever the machine does meanwhile
                # falls on every configuration alike.
                turn = n % len(configs)
                for config in configs[turn:] + configs[:turn]:
                    config.rounds.append(await measure(config, redis, args.concurrency,
                                                       args.duration))
                print(f"round {n + 1}: " + ", ".join(
                    f"{c.name} {c.rounds[-1].cpu_us:.0f} µs" for c in configs), flush=True)
    table(configs)
    failures = verdicts(configs)
    if redis.pid is not None:
        trips = await count_round_trips(redis.url, data_dir / "rt", args.answers, mismatches)
        print(f"Redis round trips per answer: {trips:.2f} ({args.answers} ordinary answers in a "
              f"row)")
        if trips > ROUND_TRIP_BUDGET:
            failures.append(f"{trips:.2f} Redis round trips per answer > {ROUND_TRIP_BUDGET:.0f}")
    if mismatches.first is not None:
        print(f"first unexpected reply: {mismatches.first}")
        failures.append(f"{mismatches.count} replies not the expected ones (warm-up included)")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (>= 3)")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32, help="owners sending at once")
    parser.add_argument("--answers", type=int, default=25,
                        help=f"answers in the round-trip count (at most {len(ISET.codes)})")
    parser.add_argument("--redis-url", help="use this Redis (its CPU and the round-trip count "
                        "need the private server and are skipped)")
    parser.add_argument("--postgres-url", default=os.environ.get("DXBOT_BENCH_POSTGRES_URL"),
                        help="also the mix on this PostgreSQL database "
                        "(default: DXBOT_BENCH_POSTGRES_URL)")
    parser.add_argument("--quick", action="store_true", help="short rounds, for a smoke check")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.answers, args.rounds = 2.0, 0.5, 5, 3
    if not 1 <= args.answers <= len(ISET.codes):
        parser.error(f"--answers: from 1 to {len(ISET.codes)} (the questions and scenes)")
    if args.rounds < 3:
        parser.error("--rounds: at least 3 (the figures are medians)")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"each server one worker; {args.rounds} rounds of {args.duration:g} s, "
          f"{args.concurrency} owners at once")
    with tempfile.TemporaryDirectory(prefix="dxbot-bench-") as tmp, \
            redis_server(args.redis_url) as redis:
        failures = asyncio.run(run(args, redis, Path(tmp)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load generator peak RSS {peak:.0f} MiB")
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print(f"ok: chat <= {CHAT_RATIO_BUDGET}x and mix <= {MIX_RATIO_BUDGET}x the skeleton's CPU "
          f"per message, p99 <= {P99_BUDGET_MS:.0f} ms, <= {ROUND_TRIP_BUDGET:.0f} Redis round "
          f"trips per answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
