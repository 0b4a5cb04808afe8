"""The solution pool kept in the archive (SQLite and PostgreSQL): imports upsert providers and
solutions in batches with the right counts, a retired solution stays retired, live_solutions
and the pool's version; the list's filters; edits; `dxbot solutions import` on a GB18030 CSV
and an Excel file."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from flows.pool_file import check_pool
from flows.solutions import Pool, Provider
from storage import solutions
from storage.db import Sessions, create_engine, session_factory
from storage.solutions import (
    Imported,
    SolutionFilter,
    TitleTaken,
    import_rows,
    listing,
    live_solutions,
    pool_version,
    retire,
    update_solution,
)
from tests import console
from tests.test_pool_file import HEADER, REF, code, row

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def rows(*table: list[str]) -> list[Any]:
    checked = check_pool([HEADER, *table], REF)
    assert checked.problems == []
    return checked.rows


async def test_import_upserts_by_provider_and_title_in_batches(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(solutions, "BATCH", 2)  # a batch ends inside provider 1's rows
    assert await pool_version(sessions) == 0
    done = await import_rows(sessions, rows(row("甲"), row("乙"), row("丙", provider=2)), T0)
    assert done == Imported(added=3, updated=0, retired=0, providers_added=2,
                            providers_updated=0)
    first_version = await pool_version(sessions)
    assert first_version > 0
    live = await live_solutions(sessions)
    assert [s.title for s in live] == ["甲", "乙", "丙"]
    assert live[0].provider == Provider(code(1), "山东某某软件有限公司1", (), "李工",
                                        "0531-88886666", False)
    assert (live[0].lifts, live[0].industries, live[0].price, live[0].free_trial,
            live[0].deployment, live[0].link) == (
        {"S06": 3, "S07": 2}, ("C",), "1-3万元/年", True, "cloud", "https://example.com/mes")
    assert set(Pool.of(live).solutions) == {s.id for s in live}
    jia = live[0].id

    retired = await retire(sessions, jia, T0 + timedelta(hours=1))
    assert retired is not None and retired.retired_at == T0 + timedelta(hours=1)
    retired_version = await pool_version(sessions)
    assert retired_version > first_version
    again = await retire(sessions, jia, T0 + timedelta(hours=2))
    assert again is not None and again.retired_at == T0 + timedelta(hours=1)  # idempotent
    assert await pool_version(sessions) == retired_version  # nothing changed
    assert [s.title for s in await live_solutions(sessions)] == ["乙", "丙"]
    assert await retire(sessions, 999, T0) is None

    # The provider renamed and moved, 甲 changed (it stays retired), 丁 and provider 3 new.
    later = T0 + timedelta(days=1)
    moved = {"provider_name": "山东新名称软件有限公司", "cities": "济南、淄博", "leading": "是"}
    done = await import_rows(sessions, rows(
        row("甲", lifts="S08:2", **moved), row("乙", price="面议", **moved),
        row("丁", provider=3)), later)
    assert done == Imported(added=1, updated=2, retired=1, providers_added=1,
                            providers_updated=1)
    assert await pool_version(sessions) > retired_version
    shown = await solutions.get(sessions, jia)
    assert shown is not None and shown.lifts == {"S08": 2}
    assert shown.retired_at == T0 + timedelta(hours=1) and shown.updated_at == later
    live = await live_solutions(sessions)
    assert [(s.title, s.price) for s in live] == [("乙", "面议"), ("丙", "1-3万元/年"),
                                                  ("丁", "1-3万元/年")]
    assert live[0].provider == Provider(code(1), "山东新名称软件有限公司", ("济南市", "淄博市"),
                                        "李工", "0531-88886666", True)
    assert shown.created_at == T0  # an update keeps when it was first imported

    before = await pool_version(sessions)
    assert await import_rows(sessions, [], later) == Imported(0, 0, 0, 0, 0)
    assert await pool_version(sessions) == before


async def seed_pool(sessions: Sessions) -> dict[str, int]:
    """甲 and 乙 of provider 1 (the whole province), 质量追溯 and 批发云 (retired) of provider 2
    (青岛), 财务云 of provider 3 (济南): their ids by title."""
    await import_rows(sessions, rows(
        row("甲", lifts="S06:3", industries="C", summary="排产、报工"),
        row("乙", lifts="S16:2", industries="C", summary=""),
        row("质量追溯", provider=2, cities="青岛", lifts="S07:2、S08:2", industries="C13"),
        row("批发云", provider=2, cities="青岛", lifts="S06:2", industries="F"),
        row("财务云", provider=3, cities="济南", lifts="S13:2", industries="",
            summary="对接MES与ERP")), T0)
    found, _total = await listing(sessions, SolutionFilter())
    ids = {s.title: s.id for s in found}
    await retire(sessions, ids["批发云"], T0)
    return ids


@pytest.mark.parametrize(("chosen", "titles"), [
    (SolutionFilter(), ["甲", "乙", "质量追溯", "批发云", "财务云"]),
    (SolutionFilter(scene="S06"), ["甲", "批发云"]),
    (SolutionFilter(scene="S06", retired=False), ["甲"]),
    (SolutionFilter(retired=True), ["批发云"]),
    # A provider without cities serves the whole province.
    (SolutionFilter(city="济南市"), ["甲", "乙", "财务云"]),
    (SolutionFilter(city="青岛市", scene="S06"), ["甲", "批发云"]),
    (SolutionFilter(city="烟台市"), ["甲", "乙"]),
    # As matching: no industries fits any; a section fits its divisions, not the other way.
    (SolutionFilter(industry="C"), ["甲", "乙", "财务云"]),
    (SolutionFilter(industry="C13"), ["甲", "乙", "质量追溯", "财务云"]),
    (SolutionFilter(industry="F"), ["批发云", "财务云"]),
    (SolutionFilter(provider_code=code(2)), ["质量追溯", "批发云"]),
    (SolutionFilter(provider_name="软件有限公司3"), ["财务云"]),
    (SolutionFilter(provider_name="%"), []),  # a LIKE wildcard is a character
    (SolutionFilter(text="mes"), ["财务云"]),  # the summary, in any case
    (SolutionFilter(text="云"), ["质量追溯", "批发云", "财务云"]),  # 质检上云 in the summary
    (SolutionFilter(text="追溯", scene="S08", city="青岛市", industry="C13",
                    provider_code=code(2), retired=False), ["质量追溯"]),
])
async def test_the_lists_filters(sessions: Sessions, chosen: SolutionFilter,
                                 titles: list[str]) -> None:
    await seed_pool(sessions)
    found, total = await listing(sessions, chosen)
    assert [s.title for s in found] == titles and total == len(titles)


async def test_paging_and_edits(sessions: Sessions) -> None:
    ids = await seed_pool(sessions)
    page, total = await listing(sessions, SolutionFilter(), offset=1, limit=2)
    assert [s.title for s in page] == ["乙", "质量追溯"] and total == 5

    version = await pool_version(sessions)
    later = T0 + timedelta(hours=3)
    changed = await update_solution(sessions, ids["甲"], {
        "lifts": {"S06": 4}, "industries": ("C", "F"), "price": "面议", "link": None}, later)
    assert changed is not None and changed.lifts == {"S06": 4}
    assert (changed.industries, changed.price, changed.link) == (("C", "F"), "面议", None)
    assert changed.updated_at == later and await pool_version(sessions) > version
    version = await pool_version(sessions)
    same = await update_solution(sessions, ids["甲"], {"price": "面议"}, later + timedelta(1))
    assert same == changed and await pool_version(sessions) == version  # nothing written

    with pytest.raises(TitleTaken) as taken:
        await update_solution(sessions, ids["甲"], {"title": "乙", "price": "免费"}, later)
    assert taken.value.solution_id == ids["乙"]
    unchanged = await solutions.get(sessions, ids["甲"])
    assert unchanged == changed
    # Another provider's title is free; a retired solution comes back with retired false.
    renamed = await update_solution(sessions, ids["甲"], {"title": "质量追溯"}, later)
    assert renamed is not None and renamed.title == "质量追溯"
    back = await update_solution(sessions, ids["批发云"], {"retired": False}, later)
    assert back is not None and back.retired_at is None
    assert "批发云" in {s.title for s in await live_solutions(sessions)}
    assert await update_solution(sessions, 999, {"price": "x"}, later) is None


# --- the console command ---------------------------------------------------------------------


def dxbot(tmp_path: Path, *args: str) -> Any:
    return console.dxbot(tmp_path, "solutions", *args)


@pytest.mark.slow  # a `dxbot solutions` process per command
def test_the_console_command_on_csv_and_excel(tmp_path: Path) -> None:
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, row("甲"), row("乙", lifts="S99:3", cities="北京"),
                                row("丙", provider=2)])
    (tmp_path / "pool.csv").write_bytes(text.getvalue().encode("gb18030"))  # as Excel saves
    run = dxbot(tmp_path, "import", "pool.csv")
    assert run.returncode == 2, run.stderr
    assert run.stdout.strip() == ("pool.csv：新增方案 2 个，更新 0 个，拒绝 1 行；"
                                  "服务商新增 2 家，更新 0 家")
    assert run.stderr.strip().splitlines() == [
        "第 3 行：cities：不是山东省的市：北京（留空或写“全省”表示全省）",
        "第 3 行：lifts：S99 不是指标体系中的场景"]

    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'dxbot.sqlite3'}"

    async def retire_first() -> None:
        engine = create_engine(url)
        try:
            sessions = session_factory(engine)
            [first, *_rest] = await live_solutions(sessions)
            await retire(sessions, first.id, T0)
        finally:
            await engine.dispose()
    asyncio.run(retire_first())

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append([*row("甲")[:5], 13900000000, *row("甲")[6:]])  # a mobile typed as a number
    sheet.append(row("丁", provider=3))
    book.save(tmp_path / "pool.xlsx")
    run = dxbot(tmp_path, "import", "pool.xlsx")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines() == [
        "pool.xlsx：新增方案 1 个，更新 1 个，拒绝 0 行；服务商新增 1 家，更新 1 家",
        "更新的方案中有 1 个已下架，仍保持下架（管理接口 PATCH /api/admin/solutions/ID 并设 "
        "\"retired\": false 可恢复）。"]

    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    for name in ("notes.txt", "missing.csv"):
        run = dxbot(tmp_path, "import", name)
        assert run.returncode == 1 and name in run.stderr and "无法读取" in run.stderr
