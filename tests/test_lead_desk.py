"""The lead desk over the admin API inside the app, end to end: an owner's 对接 in the chat is
a lead the province and 济南's commissioner see and 青岛's does not; it moves forward with its
version (a stale or concurrent change 409, a backward one 422); it becomes a project with its
plan, and the colleague's re-assessment after the project's end links itself and shows the
level and scenes it changed; the statistics and the export count it."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from openpyxl import load_workbook

from bot.api.admin_access import new_token, token_digest
from flows.beijing_time import BEIJING
from flows.leads import (
    Assessed,
    LeadChange,
    ProjectPlan,
    outcome,
    parse_lead_change,
    parse_project,
)
from storage import api_tokens, solutions
from tests.app_fixtures import BETTER_ANSWERS, ISET, Deploy, Deployment, credit_code
from tests.test_pool_file import row
from tests.test_solution_pool import rows

ADMIN = "admin-token-for-the-lead-desk-test"
T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
SCENES = [s.code for s in ISET.scenes]
TODAY = date(2026, 12, 2)


def change(raw: dict[str, Any], current: str = "new") -> LeadChange | list[str]:
    found = parse_lead_change(raw, current, scenes=SCENES,  # type: ignore[arg-type]
                              default_scenes=["S06", "S07"], today=TODAY)
    return [p.subject or "" for p in found] if isinstance(found, list) else found


PLAN = {"planned_start": "2026-12-10", "planned_end": "2027-03-31"}


@pytest.mark.parametrize(("raw", "current", "expected"), [
    ({"version": 1, "status": "contacted"}, "new", LeadChange(1, "contacted")),
    ({"version": 2, "status": "project", "project": PLAN}, "new",
     LeadChange(2, "project", project=ProjectPlan(("S06", "S07"), date(2026, 12, 10),
                                                  date(2027, 3, 31)))),
    ({"version": 1, "status": "closed", "reason": "  企业暂不需要 "}, "trial",
     LeadChange(1, "closed", reason="企业暂不需要")),
    ({"version": 3, "status": "trial"}, "trial", LeadChange(3)),  # already there
    ({"status": "contacted"}, "new", ["version"]),
    ({"version": True, "status": "contacted"}, "new", ["version"]),
    ({"version": 1, "status": "won"}, "new", ["status"]),
    ({"version": 1, "status": "contacted"}, "trial", ["status"]),  # backward
    ({"version": 1, "status": "new"}, "closed", ["status"]),
    ({"version": 1, "status": "closed"}, "new", ["reason"]),
    ({"version": 1, "status": "closed", "reason": "x" * 201}, "new", ["reason"]),
    ({"version": 1, "status": "contacted", "reason": "?"}, "new", ["reason"]),
    ({"version": 1, "status": "project"}, "new", ["project"]),
    ({"version": 1, "status": "contacted", "project": PLAN}, "new", ["project"]),
    ({"version": 1, "colour": "red"}, "new", ["colour"]),
    ({"version": 1, "status": "project", "project": {"planned_start": "2026-12-10"}}, "new",
     ["project.planned_end"]),
    ({"version": 1, "status": "project", "project": {
        **PLAN, "scenes": ["S99"], "investment": 12.5, "actual_start": "2027-01-01",
        "planned_end": "2026-02-30"}}, "new",
     ["project.scenes", "project.planned_end", "project.actual_start", "project.investment"]),
    ({"version": 1, "status": "project", "project": {**PLAN, "planned_end": "2026-12-01"}},
     "new", ["project.planned_end"]),
])
def test_a_lead_change_is_checked_whole(raw: dict[str, Any], current: str,
                                        expected: Any) -> None:
    assert change(raw, current) == expected


def test_a_project_change_keeps_what_is_not_given() -> None:
    current = ProjectPlan(("S06",), date(2026, 12, 10), date(2027, 3, 31))
    changed = parse_project({"actual_start": "2026-12-01", "actual_end": "2026-12-02",
                             "investment": "12.5", "version": 1}, scenes=SCENES,
                            default_scenes=(), today=TODAY, current=current)
    assert changed == ProjectPlan(("S06",), date(2026, 12, 10), date(2027, 3, 31),
                                  date(2026, 12, 1), date(2026, 12, 2), Decimal("12.50"))
    assert parse_project({"actual_end": "2026-12-02"}, scenes=SCENES, default_scenes=(),
                         today=TODAY, current=current) != current  # needs actual_start
    assert parse_project({"scenes": []}, scenes=SCENES, default_scenes=(), today=TODAY,
                         current=current) != current
    cleared = parse_project({"investment": None}, scenes=SCENES, default_scenes=(),
                            today=TODAY, current=changed)  # type: ignore[arg-type]
    assert isinstance(cleared, ProjectPlan) and cleared.investment is None


def test_what_a_project_changed() -> None:
    before = Assessed(1, 1, {"S06": 1, "S07": 2})
    after = Assessed(2, 2, {"S06": 3, "S07": 2})
    done = outcome(before, after, SCENES)
    assert done.moved_up and [(c.code, c.before, c.after) for c in done.scene_changes] == [
        ("S06", 1, 3)]
    assert not outcome(before, None, SCENES).moved_up


class Desk:
    def __init__(self, bot: Deployment, http: aiohttp.ClientSession) -> None:
        self.bot = bot
        self.http = http

    async def call(self, method: str, path: str, token: str = ADMIN, body: Any = None,
                   ) -> tuple[int, Any]:
        async with self.http.request(method, self.bot.http_url("/api/admin" + path),
                                     json=body,
                                     headers={"Authorization": f"Bearer {token}"}) as r:
            raw = await r.read()
            if r.content_type == "application/json":
                return r.status, json.loads(raw)
            return r.status, raw


async def commissioner_token(desk: Desk, sessions: Any, name: str, city: str) -> str:
    status, issued = await desk.call("POST", "/commissioners", body={"name": name,
                                                                     "cities": [city]})
    assert status == 201
    token = new_token()
    await api_tokens.add(sessions, name, token_digest(token), datetime.now(UTC),
                         commissioner_id=issued["id"])
    return token


async def test_a_lead_moves_on_becomes_a_project_and_the_reassessment_links_itself(
    deploy: Deploy, sessions_on: Any,
) -> None:
    await solutions.import_rows(sessions_on, rows(
        row("云MES", lifts="S06:3、S07:3"), row("设备上云", provider=2, lifts="S08:3")), T0)
    bot = await deploy(admin_token=ADMIN)
    owner = bot.owner("o-desk")
    code = credit_code(51)
    await owner.questionnaire(code)
    await owner.say("提交")
    await owner.say("对接 1")
    await owner.say("13800138000")

    async with aiohttp.ClientSession() as http:
        desk = Desk(bot, http)
        jinan = await commissioner_token(desk, sessions_on, "王专员", "济南市")
        qingdao = await commissioner_token(desk, sessions_on, "刘专员", "青岛市")

        status, listed = await desk.call("GET", "/leads")
        assert status == 200 and listed["total"] == 1
        lead = listed["leads"][0]
        assert lead["enterprise"]["credit_code"] == code and lead["status"] == "new"
        assert lead["status_title"] == "待联系" and lead["version"] == 1
        assert lead["mobile"] == "13800138000" and lead["solution"]["title"] == "云MES"
        assert [s["code"] for s in lead["solution"]["lifts"]] == ["S06", "S07"]
        assert (await desk.call("GET", "/leads", jinan))[1]["total"] == 1
        path = f"/leads/{lead['id']}"
        # 青岛's commissioner: not found, whatever the id; nothing counted.
        assert (await desk.call("GET", "/leads", qingdao))[1]["total"] == 0
        assert (await desk.call("GET", path, qingdao))[0] == 404
        status, _ = await desk.call("PATCH", path, qingdao, {"version": 1,
                                                             "status": "contacted"})
        assert status == 404
        status, outside = await desk.call("GET", "/leads?cities=济南市", qingdao)
        assert status == 403 and outside["error"]["code"] == "outside_area"
        stats = (await desk.call("GET", "/leads/stats", qingdao))[1]
        assert stats["total"]["leads"] == 0 and stats["by"]["solution"] == []

        # Filters, each bad one named.
        assert (await desk.call("GET", "/leads?status=new&industry=C&q=鲁信"))[1]["total"] == 1
        assert (await desk.call("GET", "/leads?status=trial"))[1]["total"] == 0
        status, bad = await desk.call("GET", "/leads?status=won&open=maybe&industry=ZZ&x=1")
        assert status == 422 and {p["field"] for p in bad["problems"]} == {
            "status", "open", "industry", "x"}
        status, bad = await desk.call("GET", "/leads?solution=99999999999&offset=10000000000000")
        assert status == 422 and {p["field"] for p in bad["problems"]} == {"solution", "limit"}
        status, bad = await desk.call("GET", "/enterprises?status=submitted&offset=" + "9" * 30)
        assert status == 422 and bad["error"]["field"] == "limit"

        # Bad bodies: a clear 422, nothing changed.
        for body in ([], "x", {"version": "1", "status": "contacted"},
                     {"version": 10**30, "status": "closed", "reason": 5},
                     {"version": 1, "status": "project", "project": [1]},
                     {"version": 1, "status": "project", "project": {
                         "planned_start": 20261201, "planned_end": None, "scenes": "S06",
                         "investment": "1e9"}}):
            status, refused = await desk.call("PATCH", path, jinan, body)
            assert status == 422, (body, refused)
        assert (await desk.call("GET", path))[1]["version"] == 1
        for bad_id in ("0", "x", "99999999999999999999"):
            assert (await desk.call("PATCH", f"/leads/{bad_id}", jinan, {"version": 1}))[0] == 404

        # 济南's commissioner moves it on; two changes on one version: one is kept.
        results = await asyncio.gather(*(
            desk.call("PATCH", path, jinan, {"version": 1, "status": status})
            for status in ("contacted", "trial")))
        assert sorted(status for status, _ in results) == [200, 409]
        stale = next(body for status, body in results if status == 409)
        assert stale["error"]["code"] == "stale" and stale["current"]["version"] == 2
        kept = next(body for status, body in results if status == 200)
        status, back = await desk.call("PATCH", path, jinan, {"version": 2, "status": "new"})
        assert status == 422 and back["error"]["field"] == "status"
        assert (await desk.call("GET", path))[1]["status"] == kept["status"]

        status, bad = await desk.call("PATCH", path, jinan, {"version": 2,
                                                             "status": "project"})
        assert status == 422 and bad["error"]["field"] == "project"
        status, made = await desk.call("PATCH", path, jinan, {
            "version": 2, "status": "project",
            "project": {"planned_start": "2026-12-01", "planned_end": "2027-02-28",
                        "investment": "8.5"}})
        assert status == 200 and made["status"] == "project" and made["version"] == 3
        status, project = await desk.call("GET", f"/projects/{made['project_id']}", jinan)
        assert status == 200 and [s["code"] for s in project["scenes"]] == ["S06", "S07"]
        assert project["investment"] == "8.50" and project["after"] is None
        assert project["before"]["level"] == 2 and not project["moved_up"]
        assert (await desk.call("GET", f"/projects/{made['project_id']}", qingdao))[0] == 404

        # Next: the colleague re-assesses; the project ends; the re-assessment is its after.
        colleague = bot.owner("o-desk-colleague")
        await colleague.say("开始测评")
        await colleague.say(code)
        await colleague.say("确认")
        await colleague.says(BETTER_ANSWERS)
        assert "初步等级：三级" in await colleague.say("提交")
        today = datetime.now(BEIJING).date().isoformat()
        project_path = f"/projects/{project['id']}"
        status, stale = await desk.call("PATCH", project_path, jinan, {
            "version": 9, "actual_start": today, "actual_end": today})
        assert status == 409 and stale["current"]["version"] == 1
        status, bad = await desk.call("PATCH", project_path, jinan, {
            "version": 1, "actual_end": "2099-01-01"})
        assert status == 422 and bad["error"]["field"] == "actual_end"
        status, ended = await desk.call("PATCH", project_path, jinan, {
            "version": 1, "actual_start": today, "actual_end": today})
        assert status == 200 and ended["version"] == 2
        assert ended["before"]["level"] == 2 and ended["after"]["level"] == 3
        assert ended["moved_up"] and ended["after"]["level_name"] == "三级"
        assert {c["code"] for c in ended["scene_changes"]} >= {"S06", "S07"}

        status, stats = await desk.call("GET", "/leads/stats", jinan)
        assert status == 200 and stats["enterprises_moved_up"] == 1
        assert stats["total"]["leads"] == 1 and stats["total"]["projects"] == 1
        assert stats["total"]["by_status"]["project"] == 1
        by_solution = stats["by"]["solution"][0]
        assert by_solution["name"] == "云MES" and by_solution["moved_up"] == 1
        assert by_solution["investment"] == "8.50"
        assert {t["key"] for t in stats["by"]["scene"]} == {"S06", "S07"}
        assert stats["by"]["city"][0]["key"] == "济南市"

        status, closing = await desk.call("PATCH", path, ADMIN, {"version": 3,
                                                                 "status": "closed"})
        assert status == 422 and closing["error"]["field"] == "reason"
        status, closed = await desk.call("PATCH", path, ADMIN, {
            "version": 3, "status": "closed", "reason": "项目完成"})
        assert status == 200 and closed["closed_reason"] == "项目完成"

        # The export: the leads and the projects, each a sheet.
        status, book = await desk.call("GET", "/export.xlsx", jinan)
        assert status == 200
        sheets = load_workbook(io.BytesIO(book), read_only=True)
        assert {"对接", "项目", "对接统计"} <= set(sheets.sheetnames)
        leads_sheet = [r for r in sheets["对接"].iter_rows(values_only=True)]
        assert len(leads_sheet) == 2 and code in leads_sheet[1]
        assert "已关闭" in leads_sheet[1] and "13800138000" in leads_sheet[1]
        project_rows = [r for r in sheets["项目"].iter_rows(values_only=True)]
        assert len(project_rows) == 2 and "二级" in project_rows[1] and "三级" in project_rows[1]
        status, book = await desk.call("GET", "/export.xlsx", qingdao)
        sheets = load_workbook(io.BytesIO(book), read_only=True)
        assert len(list(sheets["对接"].iter_rows(values_only=True))) == 1  # headings only
