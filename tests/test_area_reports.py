"""Statistics, lists, export and nudges over the admin API inside `dxbot serve`, by role: the
province admin sees all; a 济南 commissioner's token reaches 济南 only (by API and export) and
none of the province admin's endpoints; revoked tokens stop. And `dxbot export` / `dxbot token`
from the terminal."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from openpyxl import load_workbook

from bot.api.admin_access import new_token, token_digest
from flows.beijing_time import BEIJING
from flows.profile import builtin_reference, normalize
from flows.roster import check_roster
from flows.statistics import EnterpriseFacts, summarize
from storage import api_tokens
from storage.db import session_factory
from storage.roster import import_rows
from tests import console
from tests.db_fixtures import EmptyDatabase
from tests.test_notice_e2e import ADMIN, OA, Service, service
from tests.test_roster import HEADER, row


def test_statistics_count_levels_shares_averages_and_weak_scenes() -> None:
    scores = {"total": Decimal("40.5"), "foundation": Decimal("20"),
              "management": Decimal("10"), "effectiveness": Decimal("10.5")}
    stats = summarize([
        EnterpriseFacts("济南市", "历下区", "C", "submitted", 2, scores, {"S01": 2, "S02": 1}),
        EnterpriseFacts("济南市", "历下区", "C", "submitted", 0,
                        {**scores, "total": Decimal("19.5")}, {"S01": 3}),
        EnterpriseFacts("济南市", "市中区", "F", "in_progress"),
        EnterpriseFacts("青岛市", "黄岛区", "C", "not_started"),
    ], ["S01", "S02"])
    assert stats.overall.total == 4 and stats.overall.submitted == 2
    assert stats.overall.at_target == 1 and stats.overall.levels == {2: 1, 0: 1}
    assert stats.by_city["济南市"].by_status == {"not_started": 0, "in_progress": 1,
                                                "submitted": 2}
    assert stats.by_county[("济南市", "历下区")].at_target == 1
    assert stats.by_industry["C"].total == 3
    assert stats.average("total") == Decimal("30.00")
    assert stats.weak_scenes() == [("S02", 2), ("S01", 0)]  # unanswered counts as 0


async def api(s: Service, method: str, path: str, token: str, body: Any = None,
              ) -> tuple[int, Any]:
    async with s.http.request(method, s.bot.make_url("/api/admin" + path), json=body,
                              headers={"Authorization": f"Bearer {token}"}) as r:
        raw = await r.read()
        if r.content_type == "application/json":
            return r.status, json.loads(raw)
        return r.status, raw


async def test_each_role_sees_its_own_area_by_api_and_export(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        jinan = await s.submit("o-jn", 1, "1", scene_level="2")
        low = await s.submit("o-jn-low", 2, "1", scene_level="1")
        qingdao = await s.submit("o-qd", 3, "2", scene_level="0")
        engine = empty_database.engine()
        sessions = session_factory(engine)
        await import_rows(sessions, check_roster([HEADER, row(9, name="济南未开始有限公司")],
                                                 builtin_reference()).rows, datetime.now(UTC))

        status, issued = await api(s, "POST", "/commissioners", ADMIN,
                                   {"name": "王专员", "cities": ["济南"]})
        assert status == 201 and re.fullmatch(r"[A-Z0-9]{10}", issued["code"])
        assert issued["area"] == {"cities": ["济南市"], "counties": []}
        status, bad = await api(s, "POST", "/commissioners", ADMIN,
                                {"name": "", "cities": ["北京市"], "valid_hours": 0})
        assert status == 422 and {p["field"] for p in bad["problems"]} == {
            "name", "cities", "valid_hours"}
        status, bad = await api(s, "POST", "/commissioners", ADMIN,
                                {"name": "赵专员", "cities": ["济南市"], "counties": "历下区"})
        assert status == 422 and bad["error"]["field"] == "counties"  # not the whole city
        status, again = await api(s, "POST", f"/commissioners/{issued['id']}/code", ADMIN, {})
        assert status == 200 and again["code"] != issued["code"]
        assert (await api(s, "POST", "/commissioners/99/code", ADMIN, {}))[0] == 404
        token = new_token()
        token_id = await api_tokens.add(sessions, "王专员的电脑", token_digest(token),
                                        datetime.now(UTC), commissioner_id=issued["id"])

        # The province: everything.
        status, whole = await api(s, "GET", "/stats", ADMIN)
        assert status == 200 and whole["area"] is None
        assert whole["overall"]["enterprises"] == 4 and whole["overall"]["submitted"] == 3
        assert [c["city"] for c in whole["by_city"]] == ["济南市", "青岛市"]
        assert whole["submissions"] == 3
        weakest = whole["scenes_below_level2"][0]
        assert weakest["submissions"] == 2 and weakest["share"] == "66.7"
        assert all(whole["dimension_averages"][d] is not None for d in
                   ("total", "foundation", "management", "effectiveness"))

        # 济南's commissioner: 济南 only, whatever they ask.
        status, mine = await api(s, "GET", "/stats", token)
        assert status == 200 and mine["area"] == {"cities": ["济南市"], "counties": []}
        assert mine["overall"]["enterprises"] == 3 and [c["city"] for c in mine["by_city"]] == [
            "济南市"]
        assert mine["overall"]["not_started"] == 1
        assert mine["overall"]["share_level2_or_above"] in ("50.0", "0.0", "100.0")
        for path in ("/stats?cities=青岛市", "/export.xlsx?cities=济南市,青岛市",
                     "/enterprises?status=submitted&cities=青岛市"):
            status, refused = await api(s, "GET", path, token)
            assert status == 403 and refused["error"]["code"] == "outside_area", path
        status, listed = await api(s, "GET", "/enterprises?status=submitted", token)
        assert status == 200 and listed["total"] == 2
        assert {e["credit_code"] for e in listed["enterprises"]} == {jinan, low}
        for method, path in (("GET", "/notices"), ("POST", "/commissioners"),
                             ("GET", "/commissioners")):
            assert (await api(s, method, path, token, {}))[0] == 403
        status, nudged = await api(s, "POST", "/nudges", token, {"credit_code": qingdao})
        assert status == 404
        status, nudged = await api(s, "POST", "/nudges", token, {})
        assert status == 200 and nudged == {"nudged": 0, "people": 0, "skipped": {
            "recent": 0, "no_contact": 1, "submitted": 0}}
        assert (await api(s, "POST", "/nudges", ADMIN, {}))[0] == 403

        status, body = await api(s, "GET", "/export.xlsx", token)
        assert status == 200
        book = load_workbook(io.BytesIO(body), read_only=True)
        enterprises, summary, *lead_desk = book.worksheets
        assert [s.title for s in lead_desk] == ["对接", "项目", "对接统计"]
        rows = list(enterprises.iter_rows(values_only=True))
        codes = {r[1] for r in rows[1:]}
        assert codes == {jinan, low, row(9)[1]} and qingdao not in codes
        heading = rows[0]
        assert len(heading) == 18 + 16 + 3 and heading[:2] == ("企业名称", "统一社会信用代码")
        by_code = {r[1]: r for r in rows[1:]}
        assert by_code[jinan][10] == "已提交" and by_code[row(9)[1]][10] == "未开始"
        assert by_code[jinan][18:34] == (2,) * 16 and by_code[low][18:34] == (1,) * 16
        assert isinstance(by_code[jinan][14], float)
        texts = [c for r in summary.iter_rows(values_only=True) for c in r if c is not None]
        assert "青岛市" not in texts and "济南市" in texts

        status, whole_book = await api(s, "GET", "/export.xlsx", ADMIN)
        assert status == 200 and qingdao in {
            r[1] for r in load_workbook(io.BytesIO(whole_book), read_only=True)
            .worksheets[0].iter_rows(values_only=True)}

        # A revoked token stops at once; a made-up one never worked.
        assert await api_tokens.revoke(sessions, token_id, datetime.now(UTC))
        assert (await api(s, "GET", "/stats", token))[0] == 401
        assert (await api(s, "GET", "/stats", new_token()))[0] == 401
        await engine.dispose()


@pytest.mark.slow  # `dxbot token` and `dxbot export` processes
def test_export_and_tokens_from_the_terminal(tmp_path: Path) -> None:
    added = console.dxbot(tmp_path, "token", "add", "--name", "省厅 张三")
    assert added.returncode == 0, added.stderr
    assert re.search(r"dxt_[A-Za-z0-9_-]{40,}", added.stdout)
    listed = console.dxbot(tmp_path, "token", "list")
    assert "省厅 张三" in listed.stdout and "dxt_" not in listed.stdout
    assert console.dxbot(tmp_path, "token", "revoke", "1").returncode == 0
    assert console.dxbot(tmp_path, "token", "revoke", "1").returncode == 1
    assert console.dxbot(tmp_path, "token", "add", "--name", "x",
                         "--commissioner", "7").returncode == 1

    out = tmp_path / "all.xlsx"
    done = console.dxbot(tmp_path, "export", str(out))
    assert done.returncode == 0, done.stderr
    book = load_workbook(out, read_only=True)
    assert [s.title for s in book.worksheets] == ["企业", "统计", "对接", "项目", "对接统计"]
    assert next(book.worksheets[0].iter_rows(values_only=True))[0] == "企业名称"
    bad = console.dxbot(tmp_path, "export", str(tmp_path / "x.xlsx"), "--cities", "北京市")
    assert bad.returncode == 2 and "北京市" in bad.stderr
    assert console.dxbot(tmp_path, "export", str(tmp_path / "x.csv")).returncode == 2
    assert console.dxbot(tmp_path, "export", str(tmp_path / "x.xlsx"),
                         "--commissioner", "3").returncode == 1


# What spreadsheets read as the start of a formula, typed as people type it on a phone
# (full-width ＝ and ＋ become = and + in the profile), and an error literal.
FORMULA_NAMES = ['＝HYPERLINK("http://example.com/x","点我领补贴")', "+SUM(1,2)有限公司",
                 "-2+3有限公司", "@SUM(A1:A9)有限公司", "#N/A"]


async def test_the_export_writes_what_people_typed_as_text_and_dates_as_dates(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        before = datetime.now(BEIJING).replace(tzinfo=None)
        typed: dict[str, tuple[str, str]] = {}  # credit code: name and county as stored
        for serial, name in enumerate(FORMULA_NAMES):
            county = ["＝1+2区", "+历下区", "-历城区", "@章丘区", "#REF!"][serial]
            code = await s.submit(f"o-{serial}", serial, "1", name=name, county=county)
            typed[code] = (normalize(name), normalize(county))
        engine = empty_database.engine()
        await import_rows(session_factory(engine), check_roster(
            [HEADER, row(9, name="=1+1有限公司", county="=1+2区", contact="=cmd|'/C calc'!A0")],
            builtin_reference()).rows, datetime.now(UTC))
        await engine.dispose()
        drafting = row(9)[1]
        typed[drafting] = ("=1+1有限公司", "=1+2区")
        s.wechat.add_user(OA, "o-draft")  # starts on the roster's enterprise: in progress
        await s.sim.send_event("o-draft", "subscribe")
        for line in ("开始测评", drafting, "确认", "B"):
            await s.say("o-draft", line)
        status, body = await api(s, "GET", "/export.xlsx", ADMIN)
        after = datetime.now(BEIJING).replace(tzinfo=None)

    assert status == 200
    book = load_workbook(io.BytesIO(body))  # cells with their types, not values only
    for sheet in book.worksheets:
        for cells in sheet.iter_rows():
            for cell in cells:
                assert cell.data_type not in ("f", "e"), (sheet.title, cell.coordinate,
                                                          cell.value)
    enterprises, summary, *_lead_desk = book.worksheets
    heading = [c.value for c in next(enterprises.iter_rows())]
    rows = {r[1].value: r for r in enterprises.iter_rows(min_row=2)}
    assert set(rows) == set(typed)
    for code, (name, county) in typed.items():
        cells = rows[code]
        assert (cells[0].value, cells[3].value) == (name, county)
        assert all(c.data_type == "s" and c.quotePrefix for c in (cells[0], cells[3]))
    contact = rows[drafting][heading.index("联系人")]
    assert contact.value == "=cmd|'/C calc'!A0" and contact.data_type == "s"
    mobile = rows[drafting][heading.index("手机")]
    assert mobile.value == "13800000000" and mobile.data_type == "s" and mobile.quotePrefix

    def moments(code: str, *headings: str) -> list[Any]:
        return [rows[code][heading.index(h)] for h in headings]

    submitted = next(iter(typed))
    for cell in moments(submitted, "开始作答时间", "提交时间") + moments(drafting, "最近作答时间"):
        assert cell.is_date and cell.number_format == "yyyy-mm-dd hh:mm"
        assert before - timedelta(minutes=1) <= cell.value <= after  # Beijing, not UTC
    for code in typed:
        [day] = moments(code, "建档日期")
        assert day.is_date and day.number_format == "yyyy-mm-dd"
        assert before.date() <= day.value.date() <= after.date()
    assert moments(submitted, "最近作答时间")[0].value is None  # submitted: no live draft
    [employees, total] = moments(submitted, "员工人数", "总分")
    assert employees.value == 50 and employees.data_type == "n"  # numbers stay numbers
    assert isinstance(total.value, float) and rows[submitted][18].value == 2

    counties = {c.value: c for r in summary.iter_rows() for c in r if c.value is not None}
    for county in ("=1+2区", "+历下区", "-历城区", "@章丘区", "#REF!"):
        assert counties[county].data_type == "s" and counties[county].quotePrefix
