"""The solution pool's table and fields, checked with plain function calls: each column's forms
and refusals, every bad row by its row number with every reason, a provider given two ways in
one file, a provider's title twice, the headings people use, and the admin API's edits."""

from __future__ import annotations

from typing import Any

import pytest

from bot.translations import translator
from flows.indicators import DEFAULT_SET_ID, builtin_sets
from flows.pool_fields import (
    PoolReference,
    parse_changes,
    parse_cities,
    parse_deployment,
    parse_industries,
    parse_lifts,
    parse_link,
    parse_phone,
    parse_yes_no,
)
from flows.pool_file import PoolRow, check_pool
from flows.problems import Problem
from flows.profile import builtin_reference, credit_code_check_char
from flows.solutions import Provider

REF = PoolReference(builtin_reference(), builtin_sets()[DEFAULT_SET_ID])
ZH = translator("zh_CN")
HEADER = ["方案名称", "服务商名称", "服务商统一社会信用代码", "服务城市", "联系人", "联系电话",
          "领军企业", "方案简介", "提升场景", "适用行业", "价格", "免费试用", "部署方式", "链接"]


def code(serial: int) -> str:
    first17 = f"91370100MA{serial:07d}"
    return first17 + credit_code_check_char(first17)


def row(title: str = "云MES轻量版", provider: int = 1, **changes: str) -> list[str]:
    values = {"title": title, "provider_name": f"山东某某软件有限公司{provider}",
              "credit_code": code(provider), "cities": "", "contact_name": "李工",
              "contact_mobile": "0531-88886666", "leading": "否",
              "summary": "排产、报工、质检上云。",
              "lifts": "S06:3、S07:2", "industries": "C", "price": "1-3万元/年",
              "free_trial": "是", "deployment": "云", "link": "https://example.com/mes",
              **changes}
    return list(values.values())


def said(value: Any) -> Any:
    return value.render(ZH) if isinstance(value, Problem) else value


@pytest.mark.parametrize(("text", "expected"), [
    ("S06:3、S07:2", {"S06": 3, "S07": 2}),
    ("S06→3", {"S06": 3}),
    ("生产管控 三级", {"S06": 3}),
    ("S06 3级", {"S06": 3}),
    ("S07：2；S06 生产管控-4", {"S06": 4, "S07": 2}),  # full-width, code with its name
    ("s6=1 S16 2", {"S06": 1, "S16": 2}),
    ("质量管理2级/S01:1", {"S01": 1, "S07": 2}),  # in the indicator set's order
    ("", "lifts：必填，例如 S06:3、S07:2（场景编号或名称及提升到的等级，1 到 4）"),
    ("S17:3", "lifts：S17 不是指标体系中的场景"),
    ("S063", "lifts：S063 不是指标体系中的场景"),
    ("智能排产 2级", "lifts：智能排产 不是指标体系中的场景"),
    ("S06", "lifts：请写明 S06 提升到的等级，例如 S06:3"),
    ("S06:5", "lifts：S06 的等级应为 1 到 4，而不是 5"),
    ("生产管控 零级", "lifts：请写明 S06 提升到的等级，例如 S06:3"),
    ("S06:0", "lifts：S06 的等级应为 1 到 4，而不是 0"),
    ("S06:3、生产管控 2级", "lifts：S06 重复出现"),
])
def test_lifts(text: str, expected: Any) -> None:
    assert said(parse_lifts(text, REF)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", ()), ("全部", ()), ("C", ("C",)), ("制造业", ("C",)), ("c13/f", ("C13", "F")),
    ("农、林、牧、渔业，F", ("A", "F")),  # a name holding the separator
    ("食品制造业 酒、饮料和精制茶制造业", ("C14", "C15")),  # not 制造业 inside them
    ("C13、农副食品加工业", ("C13",)),
    ("C99、Z",
     "industries：不是国民经济行业门类或大类：C99、Z（例如 C、制造业、C13 或 农副食品加工业）"),
])
def test_industries(text: str, expected: Any) -> None:
    assert said(parse_industries(text, REF)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", ()), ("全省", ()), ("山东省", ()), ("济南", ("济南市",)),
    ("青岛市、济南，淄博 济南/山东省烟台市", ("济南市", "青岛市", "淄博市", "烟台市")),
    ("北京市、济南 1", "cities：不是山东省的市：北京市、1（留空或写“全省”表示全省）"),
])
def test_cities(text: str, expected: Any) -> None:
    assert said(parse_cities(text, REF)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", None), ("138 0000 0000", "13800000000"), ("+86 13800000000", "13800000000"),
    ("0531-88886666", "0531-88886666"), ("053188886666", "0531-88886666"),
    ("（010）12345678", "010-12345678"), ("400-123-4567", "400-123-4567"),
    ("12345", "contact_mobile：12345 既不是大陆手机号，也不是 0531-88886666 这样的固定电话"),
    ("0531-123", "contact_mobile：0531-123 既不是大陆手机号，也不是 0531-88886666 这样的固定电话"),
])
def test_phone(text: str, expected: Any) -> None:
    assert said(parse_phone(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", False), ("是", True), ("否", False), ("Y", True), ("n", False), ("1", True),
    ("0", False), ("TRUE", True), ("也许", "leading：也许 既不是“是”也不是“否”（是/否、Y/N、1/0）"),
])
def test_yes_no(text: str, expected: Any) -> None:
    assert said(parse_yes_no("leading", text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", "cloud"), ("云", "cloud"), ("SaaS", "cloud"), ("本地", "local"),
    ("私有化部署", "local"), ("云或本地", "both"), ("混合", "both"), ("Both", "both"),
    ("上门", "deployment：上门 不是 云、本地、云或本地 之一"),
])
def test_deployment(text: str, expected: Any) -> None:
    assert said(parse_deployment(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", None), ("https://example.com/a?b=1", "https://example.com/a?b=1"),
    ("http://example.com", "http://example.com"),
    ("example.com", "link：应为 http(s) 网址，最多 500 个字符"),
    ("https://", "link：应为 http(s) 网址，最多 500 个字符"),
    ("https://example.com/" + "a" * 490, "link：应为 http(s) 网址，最多 500 个字符"),
])
def test_link(text: str, expected: Any) -> None:
    assert said(parse_link(text)) == expected


def problems(table: list[list[str]]) -> list[tuple[int, str]]:
    return [(p.row, p.problem.render(ZH)) for p in check_pool(table, REF).problems]


def test_a_valid_row_and_the_defaults() -> None:
    checked = check_pool([HEADER, row(),
                          row("工业互联网平台", provider=2, cities="济南、青岛", contact_name="",
                              contact_mobile="", leading="是", summary="", industries="",
                              price="", free_trial="", deployment="", link="")], REF)
    assert checked.problems == []
    assert checked.rows == [
        PoolRow(2, Provider(code(1), "山东某某软件有限公司1", (), "李工", "0531-88886666", False),
                "云MES轻量版", "排产、报工、质检上云。", {"S06": 3, "S07": 2}, ("C",), "1-3万元/年",
                True, "cloud", "https://example.com/mes"),
        PoolRow(3, Provider(code(2), "山东某某软件有限公司2", ("济南市", "青岛市"), None, None,
                            True), "工业互联网平台", "", {"S06": 3, "S07": 2}, (), "", False,
                "cloud", None)]


def test_each_bad_row_is_named_with_every_reason_and_the_rest_go_in() -> None:
    table = [HEADER, row("甲"),
             row("乙", credit_code=code(3)[:-1] + "X"),
             row("丙", lifts="S99:3", cities="北京"),  # two reasons
             row("", provider_name="", credit_code="", lifts="", link="ftp://x",
                 contact_mobile="110", leading="?", free_trial="?", deployment="?",
                 industries="Z", summary="长" * 501, price="贵" * 61),
             row("丁")]
    checked = check_pool(table, REF)
    assert [r.row for r in checked.rows] == [2, 6]
    by_row: dict[int, list[str | None]] = {}
    for found in checked.problems:
        by_row.setdefault(found.row, []).append(found.problem.subject)
    assert set(by_row) == {3, 4, 5}
    assert by_row[3] == ["credit_code"]
    assert by_row[4] == ["cities", "lifts"]
    said4 = [m for r, m in problems(table) if r == 4]
    assert said4 == ["cities：不是山东省的市：北京（留空或写“全省”表示全省）",
                     "lifts：S99 不是指标体系中的场景"]
    assert by_row[5] == ["title", "provider_name", "credit_code", "contact_mobile", "leading",
                         "summary", "lifts", "industries", "price", "free_trial", "deployment",
                         "link"]


def test_a_provider_is_its_first_rows_and_a_title_comes_once() -> None:
    table = [HEADER,
             row("甲", contact_name="李工"),
             # Later rows may leave the provider's columns empty: the first row's stand.
             row("乙", cities="", contact_name="", contact_mobile="", leading=""),
             row("丙", provider_name="另一个名称有限公司"),
             row("丁", contact_name="王工", leading="是"),
             row("甲"),  # the same provider's title again
             row("甲", provider=2),  # another provider may have that title
             row("甲 ", provider=2)]
    checked = check_pool(table, REF)
    assert [(r.row, r.title) for r in checked.rows] == [(2, "甲"), (3, "乙"), (7, "甲")]
    assert checked.rows[1].provider == checked.rows[0].provider
    assert problems(table) == [
        (4, "provider_name：另一个名称有限公司 与第 2 行为该信用代码给出的 "
            "山东某某软件有限公司1 不同"),
        (5, "contact_name：与第 2 行为该服务商给出的不同"),
        (5, "leading：与第 2 行为该服务商给出的不同"),
        (6, "title：该服务商的方案 甲 已在第 2 行出现"),
        (8, "title：该服务商的方案 甲 已在第 7 行出现")]


def test_headings_people_use_and_the_english_ids() -> None:
    english = ["credit_code", "provider", "title", "lifts", "deployment"]
    checked = check_pool(
        [english, [code(1), "鲁信云有限公司", "设备上云", "设备管理 二级", "本地"]], REF)
    assert checked.problems == [] and checked.rows[0].lifts == {"S08": 2}
    assert checked.rows[0].deployment == "local"
    variants = ["  方案 ", "服务商", "信用代码", "场景", "部署"]
    assert check_pool([variants, ["设备上云", "鲁信云有限公司", code(1), "S08:2", "云或本地"]],
                      REF).rows[0].deployment == "both"


def test_a_header_without_the_needed_columns_is_refused_whole() -> None:
    found = problems([["方案名称", "价格"], ["某方案", "免费"]])
    assert [r for r, _m in found] == [1, 1, 1]  # provider name, credit code, lifts
    assert all("表头缺少" in m for _r, m in found)
    assert problems([]) == [(1, "文件中没有任何行。")]


def test_changes_from_the_admin_api() -> None:
    assert parse_changes({"lifts": {"S06": 3, "质量管理": "2级"}, "free_trial": "是",
                          "industries": [{"code": "C13", "name": "农副食品加工业"}, "制造业"],
                          "link": None, "retired": False}, REF) == {
        "lifts": {"S06": 3, "S07": 2}, "industries": ("C13", "C"), "free_trial": True,
        "link": None, "retired": False}
    # What GET shows comes back as it was shown.
    assert parse_changes({"lifts": [{"code": "S06", "name": "生产管控", "level": 2}]},
                         REF) == {"lifts": {"S06": 2}}
    assert parse_changes({"lifts": "S06:1", "industries": "", "summary": " 新 简介 "},
                         REF) == {"lifts": {"S06": 1}, "industries": (), "summary": "新 简介"}
    wrong = parse_changes({"title": "", "lifts": {"S06": 9}, "industries": ["农、林、牧、渔业", 3],
                           "free_trial": 1, "deployment": None, "link": "x", "price": 5,
                           "provider_name": "x", "id": 3}, REF)
    assert isinstance(wrong, list)
    assert [(p.subject, p.code) for p in wrong] == [
        ("id", "unknown_field"), ("provider_name", "unknown_field"), ("title", "required"),
        ("lifts", "level"), ("industries", "industries"), ("price", "text"),
        ("free_trial", "boolean"), ("deployment", "text"), ("link", "link")]
    assert parse_changes({"lifts": {}}, REF) == [parse_lifts("", REF)]
    not_pairs = parse_changes({"lifts": [3]}, REF)
    assert isinstance(not_pairs, list) and not_pairs[0].code == "lifts"
