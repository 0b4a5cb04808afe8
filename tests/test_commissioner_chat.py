"""Digital commissioners in the Official Account chat, end to end inside `dxbot serve`: binding
with a one-time code, 进度 and 名单 of their own area only; and `dxbot commissioner` from the
terminal."""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from flows.commissioners import Scope, binding_code, code_digest
from flows.profile import builtin_reference
from flows.roster import check_roster
from storage import commissioners
from storage.db import session_factory
from storage.roster import import_rows
from tests import console
from tests.db_fixtures import EmptyDatabase
from tests.test_notice_e2e import service
from tests.test_roster import HEADER, row
from tests.test_roster import code as credit


async def test_a_commissioner_sees_their_area_and_nothing_else(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        # o-done submits for 91370100MA0000000… (济南), o-qd for the next code (青岛).
        await s.owners(("o-done", "1"), ("o-qd", "2"))
        engine = empty_database.engine()
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        roster = [HEADER, row(5, name="济南未开始甲有限公司"), row(6, name="济南未开始乙有限公司"),
                  row(7, name="青岛某某有限公司", city="青岛市", county="黄岛区")]
        await import_rows(sessions, check_roster(roster, builtin_reference()).rows, now)
        codes = {}
        for name, city in (("王专员", "济南市"), ("李专员", "青岛市")):
            code = binding_code(secrets.token_bytes(32))
            await commissioners.add(sessions, name, Scope((city,)), code_digest(code) or "",
                                    now + timedelta(days=3), now)
            codes[city] = code
        await engine.dispose()

        for openid in ("o-jn", "o-qdc", "o-thief"):
            s.wechat.add_user("wx3333333333333333", openid)
            await s.sim.send_event(openid, "subscribe")
        assert "仅供数字专员" in await s.say("o-jn", "名单 未开始")
        assert "请发送「绑定」" in await s.say("o-jn", "绑定")
        assert "绑定码无效" in await s.say("o-jn", "绑定 AAAAAAAAAA")
        bound = await s.say("o-jn", f"绑定 {codes['济南市'].lower()}")
        assert bound.startswith("绑定成功：您是济南市的数字专员王专员")
        assert "绑定码无效" in await s.say("o-thief", f"绑定 {codes['济南市']}")  # used once

        progress = await s.say("o-jn", "进度")
        assert progress.splitlines()[:2] == ["您的辖区（济南市）：共 3 家企业",
                                             "未开始 2 家，进行中 0 家，已提交 1 家；完成率 33.3%"]
        assert "初步等级分布：" in progress
        submitted = await s.say("o-jn", "名单 已提交")
        assert submitted.startswith("已提交：共 1 家企业\n1. 某某机械有限公司（某区）")
        assert re.search(r"· \d{4}-\d{2}-\d{2}$", submitted)
        waiting = await s.say("o-jn", "名单 未开始")
        assert "济南未开始甲有限公司" in waiting and "青岛" not in waiting
        assert "张三 13800000000" in waiting  # the roster's contact, for a call
        assert "辖区内没有企业" in await s.say("o-jn", "名单 进行中")
        assert "名单 未开始" in await s.say("o-jn", "帮助")

        assert (await s.say("o-qdc", f"绑定 {codes['青岛市']}")).startswith("绑定成功")
        qingdao = await s.say("o-qdc", "名单 未开始")
        assert "青岛某某有限公司" in qingdao and "济南" not in qingdao
        assert "共 2 家企业" in await s.say("o-qdc", "进度")
        # An owner's 进度 is still their questionnaire's.
        assert "没有进行中的测评" in await s.say("o-thief", "进度")
        for _ in range(5):
            await s.say("o-thief", "绑定 AAAAAAAAAA")
        assert "尝试次数过多" in await s.say("o-thief", f"绑定 {codes['青岛市']}")

        # 催办: an owner has started for 济南未开始甲; 乙 has nobody on WeChat yet.
        s.wechat.add_user("wx3333333333333333", "o-half")
        await s.sim.send_event("o-half", "subscribe")
        for line in ("开始测评", credit(5), "济南未开始甲有限公司", "1", "历下区", "C", "13",
                     "120", "B"):
            await s.say("o-half", line)
        assert "仅供数字专员" in await s.say("o-half", "催办")
        nudged = await s.say("o-jn", "催办")
        assert nudged.startswith("已催办 1 家企业（1 人）")
        assert "1 家在微信上联系不到" in nudged
        assert "3 天内已被催办过" in await s.say("o-jn", "催办 " + credit(5))
        assert "辖区内没有统一社会信用代码为" in await s.say("o-jn", "催办 " + credit(7))  # 青岛
        assert "校验位" in await s.say("o-jn", "催办 " + credit(7)[:17] + "0")
        qingdao_nudge = await s.say("o-qdc", "催办")
        assert qingdao_nudge.startswith("本次没有催办任何企业") and "联系不到" in qingdao_nudge
        for _ in range(100):
            if ("o-half", "请完成数字化水平评估") in s.template_sends():
                break
            await asyncio.sleep(0.1)
        assert [to for to, what in s.template_sends() if what == "请完成数字化水平评估"] == [
            "o-half"]


@pytest.mark.slow  # a `dxbot commissioner` process per command
def test_commissioners_from_the_terminal(tmp_path: Path) -> None:
    def dxbot(*args: str) -> subprocess.CompletedProcess[str]:
        return console.dxbot(tmp_path, "commissioner", *args)

    added = dxbot("add", "--name", "王专员", "--cities", "济南,淄博市", "--counties", "历下区")
    assert added.returncode == 0, added.stderr
    found = re.fullmatch(r"数字专员 1 王专员（济南市、淄博市（历下区））：绑定码 ([A-Z0-9]{10})，"
                         r"有效期至 .+。请本人在公众号发送「绑定 \1」。\n", added.stdout)
    assert found, added.stdout
    again = dxbot("code", "1", "--valid-hours", "1")
    assert again.returncode == 0 and found.group(1) not in again.stdout
    bad = dxbot("add", "--name", "", "--cities", "北京市")
    assert bad.returncode == 2 and bad.stdout == ""
    assert "北京市 不是山东省的市" in bad.stderr and "name" in bad.stderr
    assert dxbot("code", "9").returncode == 1


async def test_long_lists_go_on_with_the_next_page(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        engine = empty_database.engine()
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        table = [HEADER, *(row(i, name=f"济南企业{i:03d}有限公司") for i in range(205))]
        await import_rows(sessions, check_roster(table, builtin_reference()).rows, now)
        code = binding_code(secrets.token_bytes(32))
        await commissioners.add(sessions, "王专员", Scope(("济南市",)), code_digest(code) or "",
                                now + timedelta(days=3), now)
        await engine.dispose()
        s.wechat.add_user("wx3333333333333333", "o-jn")
        await s.sim.send_event("o-jn", "subscribe")
        assert (await s.say("o-jn", f"绑定 {code}")).startswith("绑定成功")

        shown = [await s.say("o-jn", "名单 未开始")]
        while "回复「更多」" in shown[-1]:
            shown.append(await s.say("o-jn", "更多"))
        assert shown[-1].endswith("回复「下一页」查看第 201–205 家（共 205 家）。")
        numbers = [int(n) for n in re.findall(r"^(\d+)\. ", "\n".join(shown), re.M)]
        assert numbers == list(range(1, 201))
        rest = await s.say("o-jn", "下一页")
        assert re.findall(r"^(\d+)\. 济南企业(\d+)", rest, re.M) == [
            (str(n), f"{n - 1:03d}") for n in range(201, 206)]
        assert await s.say("o-jn", "下一页") == "没有更多内容了。"
