"""The roster import (待转型企业库): every bad row reported with its row number and reason while
the valid rows go in; upserts by credit code on SQLite and PostgreSQL; the real console command
on a CSV (UTF-8 and GB18030) and an Excel file."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.translations import translator
from flows.profile import builtin_reference, credit_code_check_char
from flows.roster import RosterRow, check_roster
from storage.archive import Profile, enterprise_profile, record_submission
from storage.models import Enterprise
from storage.roster import Imported, import_rows
from tests import console
from tests.test_archive import make_record

Sessions = async_sessionmaker[AsyncSession]
REFERENCE = builtin_reference()
ZH = translator("zh_CN")
HEADER = ["企业名称", "统一社会信用代码", "市", "县区", "行业", "联系人", "手机"]


def code(serial: int) -> str:
    first17 = f"91370100MA{serial:07d}"
    return first17 + credit_code_check_char(first17)


def row(serial: int, **changes: str) -> list[str]:
    values = {"name": f"山东某某制造有限公司{serial}", "code": code(serial), "city": "济南市",
              "county": "历下区", "industry": "C", "contact": "张三",
              "mobile": "13800000000", **changes}
    return list(values.values())


def problems(table: list[list[str]]) -> list[tuple[int, str]]:
    return [(p.row, p.problem.render(ZH)) for p in check_roster(table, REFERENCE).problems]


def test_valid_rows_and_the_forms_people_use() -> None:
    checked = check_roster([
        # Other headings, in another order:
        ["  统一社会信用代码 ", "企业名称", "所在市", "区县", "所属行业", "联系电话"],
        [code(1).lower(), "济南明湖机械有限公司", "济南", "历下区", "制造业", "138-0000-0000"],
        ["", "", "", "", "", ""],  # blank: skipped
        [code(2), "青岛海风食品有限公司", "山东省青岛市", "黄岛区", "F", ""],
    ], REFERENCE)
    assert checked.problems == []
    assert checked.rows == [
        RosterRow(2, "济南明湖机械有限公司", code(1), "济南市", "历下区", "C", None, "13800000000"),
        RosterRow(4, "青岛海风食品有限公司", code(2), "青岛市", "黄岛区", "F", None, None)]


def test_each_bad_row_is_named_with_its_reason_and_the_rest_go_in() -> None:
    table = [HEADER, row(1), row(2, code=code(2)[:-1] + "X"), row(3, city="北京市"),
             row(4, city="1"), row(5, county=""), row(6, industry="Z"),
             row(7, mobile="12345"), row(8, code=code(1)), row(9, name="x"), row(10)]
    checked = check_roster(table, REFERENCE)
    assert [r.row for r in checked.rows] == [2, 11]
    found = problems(table)
    assert [r for r, _m in found] == [3, 4, 5, 6, 7, 8, 9, 10]
    said = dict(found)
    assert "校验" in said[3]
    assert said[4] == "city: 北京市 不是山东省的市。"
    assert said[5] == "city: 1 不是山东省的市。"  # a list number means nothing in a file
    assert "13800000000" not in said[8] and "12345" in said[8]
    assert said[9] == f"credit_code: {code(1)} 已在第 2 行出现。"


def test_a_header_without_the_needed_columns_is_refused_whole() -> None:
    found = problems([["名称", "市"], ["某公司", "济南市"]])
    assert [r for r, _m in found] == [1, 1, 1]  # credit code, county, industry missing
    assert all("表头缺少" in m for _r, m in found)
    assert problems([]) == [(1, "文件中没有任何行。")]


async def test_import_upserts_by_credit_code(sessions: Sessions) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    first = check_roster([HEADER, row(1), row(2)], REFERENCE).rows
    assert await import_rows(sessions, first, now) == Imported(added=2, updated=0)
    moved = check_roster([HEADER, row(2, county="市中区", mobile=""), row(3)], REFERENCE).rows
    assert await import_rows(sessions, moved, now) == Imported(added=1, updated=1)
    async with sessions() as session:
        rows = {e.credit_code: e for e in await session.scalars(select(Enterprise))}
    assert rows[code(2)].county == "市中区" and rows[code(2)].contact_mobile is None
    assert all(e.in_roster and e.roster_imported_at == now for e in rows.values())
    # An enterprise that submitted keeps its history; the roster's profile becomes its profile.
    record = make_record(profile=Profile(name="旧名称有限公司", credit_code=code(3), city="济南市",
                                         county="历下区", industry="C",
                                         industry_division="C34"))
    await record_submission(sessions, record)
    await import_rows(sessions, check_roster([HEADER, row(3)], REFERENCE).rows, now)
    profile = await enterprise_profile(sessions, code(3))
    assert profile is not None and profile.name == "山东某某制造有限公司3"
    assert profile.industry_division == "C34"  # same industry: the division stays


def dxbot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return console.dxbot(tmp_path, "enterprises", *args)


@pytest.mark.slow  # a `dxbot enterprises` process per command
def test_the_console_command_on_csv_and_excel(tmp_path: Path) -> None:
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, row(1), row(2, city="北京市"), row(3)])
    (tmp_path / "roster.csv").write_bytes(text.getvalue().encode("gb18030"))  # as Excel saves
    run = dxbot(tmp_path, "import", "roster.csv")
    assert run.returncode == 2, run.stderr
    assert run.stdout.strip() == "roster.csv：新增 2 家企业，更新 0 家，拒绝 1 行"
    assert run.stderr.strip() == "第 3 行：city: 北京市 不是山东省的市。"

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append([*row(1)[:6], 13900000000])  # a mobile number typed as a number
    sheet.append(row(4))
    book.save(tmp_path / "roster.xlsx")
    run = dxbot(tmp_path, "import", "roster.xlsx")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "roster.xlsx：新增 1 家企业，更新 1 家，拒绝 0 行"

    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    for name in ("notes.txt", "missing.csv"):
        run = dxbot(tmp_path, "import", name)
        assert run.returncode == 1 and name in run.stderr and "无法读取" in run.stderr
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really")
    assert dxbot(tmp_path, "import", "broken.xlsx").returncode == 1
