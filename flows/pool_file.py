"""The province's solution pool as a table: one row per solution, with its provider's columns
repeated (or left empty after the provider's first row), checked row by row. Pure, like
`flows.roster`: the shell reads the file and stores the valid rows; every bad row is reported
with its row number and every reason, and the others go in.

Within one file, a provider is its first valid row's: a later row that gives it another name,
or another value in one of its columns, is refused (a conflict is reported, never resolved
silently), and so is a provider's solution title seen before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from flows.i18n import N_
from flows.pool_fields import (
    PRICE_MAX,
    SUMMARY_MAX,
    PoolReference,
    parse_cities,
    parse_contact_name,
    parse_deployment,
    parse_industries,
    parse_lifts,
    parse_link,
    parse_phone,
    parse_provider_name,
    parse_text,
    parse_title,
    parse_yes_no,
)
from flows.problems import Problem
from flows.profile import normalize, parse_credit_code
from flows.roster import RowProblem
from flows.solutions import Deployment, Provider

FIELDS = ("title", "provider_name", "credit_code", "cities", "contact_name", "contact_mobile",
          "leading", "summary", "lifts", "industries", "price", "free_trial", "deployment",
          "link")
REQUIRED = ("title", "provider_name", "credit_code", "lifts")
PROVIDER_FIELDS = ("cities", "contact_name", "contact_mobile", "leading")
# Header words people use for each column (compared after normalize(), case-insensitively).
HEADERS: Mapping[str, tuple[str, ...]] = {
    "title": ("方案名称", "解决方案名称", "方案", "解决方案", "产品名称", "title"),
    "provider_name": ("服务商", "服务商名称", "供应商", "供应商名称", "provider",
                      "provider_name"),
    "credit_code": ("服务商统一社会信用代码", "统一社会信用代码", "信用代码", "社会信用代码",
                    "credit_code"),
    "cities": ("服务城市", "服务地市", "服务区域", "服务范围", "cities"),
    "contact_name": ("联系人", "联系人姓名", "contact", "contact_name"),
    "contact_mobile": ("联系电话", "电话", "手机", "手机号", "联系方式", "phone", "mobile",
                       "contact_mobile"),
    "leading": ("领军企业", "是否领军企业", "领军", "leading"),
    "summary": ("方案简介", "简介", "方案介绍", "方案描述", "summary"),
    "lifts": ("提升场景", "场景", "适用场景", "lifts"),
    "industries": ("适用行业", "行业", "industries"),
    "price": ("价格", "价格区间", "参考价格", "price"),
    "free_trial": ("免费试用", "是否免费试用", "free_trial"),
    "deployment": ("部署方式", "部署", "deployment"),
    "link": ("链接", "方案链接", "网址", "link"),
}
MAX_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class PoolRow:
    """A valid row: the solution as it is to be stored, with its provider."""

    row: int  # in the file, the header being row 1
    provider: Provider
    title: str
    summary: str
    lifts: Mapping[str, int]  # scene code -> level, in the indicator set's order
    industries: tuple[str, ...]
    price: str
    free_trial: bool
    deployment: Deployment
    link: str | None


@dataclass(slots=True)
class PoolCheck:
    rows: list[PoolRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def _columns(header: Sequence[str]) -> dict[str, int] | list[Problem]:
    words = {name: {normalize(w).lower() for w in words} for name, words in HEADERS.items()}
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        value = normalize(cell or "").lower()
        for name, accepted in words.items():
            if value in accepted and name not in found:
                found[name] = index
                break
    missing = [name for name in REQUIRED if name not in found]
    if missing:
        return [Problem("header", N_("The header row lacks the column {column} (accepted "
                                     "headings: {accepted})."), name,
                        {"column": name, "accepted": "、".join(HEADERS[name])})
                for name in missing]
    return found


def _row(number: int, cells: Mapping[str, str], ref: PoolReference) -> PoolRow | list[Problem]:
    problems: list[Problem] = []

    def take(value: Any, default: Any = None) -> Any:
        if isinstance(value, Problem):
            problems.append(value)
            return default
        return value

    def text(name: str) -> str:
        return cells.get(name, "")

    title = take(parse_title(text("title")), "")
    name = take(parse_provider_name(text("provider_name")), "")
    code_text = text("credit_code")
    code = take(parse_credit_code(code_text) if code_text.strip() else Problem(
        "required", N_("{field}: required"), "credit_code", {"field": "credit_code"}), "")
    cities = take(parse_cities(text("cities"), ref), ())
    contact = take(parse_contact_name(text("contact_name")))
    phone = take(parse_phone(text("contact_mobile")))
    leading = take(parse_yes_no("leading", text("leading")), False)
    summary = take(parse_text("summary", text("summary"), SUMMARY_MAX), "")
    lifts = take(parse_lifts(text("lifts"), ref), {})
    industries = take(parse_industries(text("industries"), ref), ())
    price = take(parse_text("price", text("price"), PRICE_MAX), "")
    free_trial = take(parse_yes_no("free_trial", text("free_trial")), False)
    deployment = take(parse_deployment(text("deployment")), "cloud")
    link = take(parse_link(text("link")))
    if problems:
        return problems
    return PoolRow(row=number, provider=Provider(code, name, cities, contact, phone, leading),
                   title=title, summary=summary, lifts=lifts, industries=industries,
                   price=price, free_trial=free_trial, deployment=deployment, link=link)


@dataclass(slots=True)
class _Seen:
    """A provider as its first valid row gave it, and the titles of its solutions so far."""

    row: int
    provider: Provider
    titles: dict[str, int] = field(default_factory=dict)  # title -> row


def _against_first(checked: PoolRow, cells: Mapping[str, str], first: _Seen) -> list[Problem]:
    """A later row of a provider against its first: the same name; each provider column either
    empty (the first row's stands) or the same."""
    problems: list[Problem] = []
    if checked.provider.name != first.provider.name:
        problems.append(Problem("provider_conflict", N_(
            "provider_name: {name} differs from {first}, given for this credit code in row "
            "{row}"), "provider_name",
            {"name": checked.provider.name, "first": first.provider.name, "row": first.row}))
    for name in PROVIDER_FIELDS:
        if cells.get(name, "").strip() and (getattr(checked.provider, name)
                                            != getattr(first.provider, name)):
            problems.append(Problem("provider_conflict", N_(
                "{field}: differs from what row {row} gave for this provider"), name,
                {"field": name, "row": first.row}))
    title_row = first.titles.get(checked.title)
    if title_row is not None:
        problems.append(Problem("duplicate", N_(
            "title: this provider's solution {title} is already in row {row}"), "title",
            {"title": checked.title, "row": title_row}))
    return problems


def check_pool(table: Iterable[Sequence[str]], ref: PoolReference) -> PoolCheck:
    """Rows of a pool file (the first one the header, cells as text) -> the valid rows and
    each problem with its row number. Blank rows are skipped."""
    result = PoolCheck()
    rows = iter(table)
    header = next(rows, None)
    if header is None:
        result.problems.append(RowProblem(1, Problem("empty", N_("The file has no rows."))))
        return result
    columns = _columns(header)
    if isinstance(columns, list):
        result.problems.extend(RowProblem(1, p) for p in columns)
        return result
    providers: dict[str, _Seen] = {}
    for number, raw in enumerate(rows, start=2):
        if number - 1 > MAX_ROWS:
            result.problems.append(RowProblem(number, Problem(
                "too_many", N_("The file has more than {max} rows; the rest was not read."),
                None, {"max": MAX_ROWS})))
            break
        cells = {name: str(raw[i]) if i < len(raw) and raw[i] is not None else ""
                 for name, i in columns.items()}
        if not any(v.strip() for v in cells.values()):
            continue
        checked = _row(number, cells, ref)
        if isinstance(checked, list):
            result.problems.extend(RowProblem(number, p) for p in checked)
            continue
        first = providers.get(checked.provider.credit_code)
        if first is None:
            first = providers[checked.provider.credit_code] = _Seen(number, checked.provider)
        else:
            conflicts = _against_first(checked, cells, first)
            if conflicts:
                result.problems.extend(RowProblem(number, p) for p in conflicts)
                continue
            checked = replace(checked, provider=first.provider)
        first.titles[checked.title] = number
        result.rows.append(checked)
    return result
