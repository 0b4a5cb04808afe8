"""The roster of enterprises to transform (待转型企业库) as a department hands it over: a table
with a header row, checked row by row. Pure: the shell reads the file (CSV or Excel) and stores
the valid rows; every bad row is reported with its row number and why, and the others go in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flows.i18n import N_
from flows.problems import Problem
from flows.profile import (
    ProfileReference,
    mobile_number,
    normalize,
    parse_county,
    parse_credit_code,
    parse_name,
)

FIELDS = ("name", "credit_code", "city", "county", "industry", "contact_name", "contact_mobile")
REQUIRED = FIELDS[:5]
# Header words people use for each column (compared after normalize(), case-insensitively).
HEADERS: Mapping[str, tuple[str, ...]] = {
    "name": ("企业名称", "名称", "企业", "name"),
    "credit_code": ("统一社会信用代码", "社会信用代码", "信用代码", "credit_code"),
    "city": ("市", "所在市", "城市", "地市", "city"),
    "county": ("县区", "区县", "县（市、区）", "县(市、区)", "县市区", "county"),
    "industry": ("行业", "所属行业", "行业门类", "industry"),
    "contact_name": ("联系人", "联系人姓名", "contact", "contact_name"),
    "contact_mobile": ("手机", "手机号", "手机号码", "联系电话", "联系方式", "mobile",
                       "contact_mobile"),
}
CONTACT_MAX = 40
MAX_ROWS = 200_000


@dataclass(frozen=True, slots=True)
class RosterRow:
    row: int  # in the file, the header being row 1
    name: str
    credit_code: str
    city: str
    county: str
    industry: str  # GB/T 4754 section code
    contact_name: str | None = None
    contact_mobile: str | None = None


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int
    problem: Problem


@dataclass(slots=True)
class RosterCheck:
    rows: list[RosterRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def _column_of(header: Sequence[str]) -> dict[str, int] | list[Problem]:
    words = {name: {normalize(w).lower() for w in words} for name, words in HEADERS.items()}
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        value = normalize(cell or "").lower()
        for name, accepted in words.items():
            if value in accepted and name not in found:
                found[name] = index
    missing = [name for name in REQUIRED if name not in found]
    if missing:
        return [Problem("header", N_("The header row lacks the column {column} (accepted "
                                     "headings: {accepted})."), name,
                        {"column": name, "accepted": "、".join(HEADERS[name])})
                for name in missing]
    return found


def _mobile(text: str) -> str | None | Problem:
    if not normalize(text):
        return None
    value = mobile_number(text)
    if value is None:
        return Problem("mobile", N_("contact_mobile: {value} is not a mainland mobile number "
                                    "(11 digits starting with 1)."), "contact_mobile",
                       {"value": text.strip()})
    return value


def _row(number: int, cells: Mapping[str, str], reference: ProfileReference,
         ) -> RosterRow | list[Problem]:
    problems: list[Problem] = []

    def take(value: object) -> str:
        if isinstance(value, Problem):
            problems.append(value)
            return ""
        return str(value)

    code_text = cells.get("credit_code", "")
    code = take(parse_credit_code(code_text) if code_text.strip() else Problem(
        "required", N_("{field}: required"), "credit_code", {"field": "credit_code"}))
    name = take(parse_name(cells.get("name", "")))
    city_text = normalize(cells.get("city", ""))
    city = ""
    if not city_text.isdigit():  # a list number means nothing in a file
        parsed = reference.parse_city(city_text)
        city = "" if isinstance(parsed, Problem) else parsed
    if not city:
        problems.append(Problem("city", N_("city: {value} is not a city of Shandong."), "city",
                                {"value": city_text}))
    county = take(parse_county(cells.get("county", "")))
    industry = take(reference.parse_section(cells.get("industry", "")))
    contact = normalize(cells.get("contact_name", "")) or None
    if contact is not None and len(contact) > CONTACT_MAX:
        problems.append(Problem("contact", N_("contact_name: at most {max} characters."),
                                "contact_name", {"max": CONTACT_MAX}))
    mobile = _mobile(cells.get("contact_mobile", ""))
    if isinstance(mobile, Problem):
        problems.append(mobile)
        mobile = None
    if problems:
        return problems
    return RosterRow(row=number, name=name, credit_code=code, city=city, county=county,
                     industry=industry, contact_name=contact, contact_mobile=mobile)


def check_roster(table: Iterable[Sequence[str]], reference: ProfileReference) -> RosterCheck:
    """Rows of a roster file (the first one the header, cells as text) -> the valid rows and
    each problem with its row number. A credit code seen in an earlier row makes a later row a
    duplicate; blank rows are skipped."""
    result = RosterCheck()
    rows = iter(table)
    header = next(rows, None)
    if header is None:
        result.problems.append(RowProblem(1, Problem("empty", N_("The file has no rows."))))
        return result
    columns = _column_of(header)
    if isinstance(columns, list):
        result.problems.extend(RowProblem(1, p) for p in columns)
        return result
    seen: dict[str, int] = {}
    for number, cells in enumerate(rows, start=2):
        if number - 1 > MAX_ROWS:
            result.problems.append(RowProblem(number, Problem(
                "too_many", N_("The file has more than {max} rows; the rest was not read."),
                None, {"max": MAX_ROWS})))
            break
        values = {name: str(cells[i]) if i < len(cells) and cells[i] is not None else ""
                  for name, i in columns.items()}
        if not any(v.strip() for v in values.values()):
            continue
        checked = _row(number, values, reference)
        if isinstance(checked, list):
            result.problems.extend(RowProblem(number, p) for p in checked)
            continue
        first = seen.get(checked.credit_code)
        if first is not None:
            result.problems.append(RowProblem(number, Problem(
                "duplicate", N_("credit_code: {code} is already in row {first}."), "credit_code",
                {"code": checked.credit_code, "first": first})))
            continue
        seen[checked.credit_code] = number
        result.rows.append(checked)
    return result
