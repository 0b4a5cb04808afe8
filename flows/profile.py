"""The enterprise profile asked before the questions: credit code, name, city, county, industry.

Parsing is forgiving in form (full-width characters, "济南" for "济南市", a list number) and strict
in substance (the credit code's GB 32100-2015 check character, a real Shandong city).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from flows.i18n import N_
from flows.problems import Problem

# GB 32100-2015: 31 characters (no I, O, S, V, Z) and the weights of positions 1–17.
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CODE_VALUE = {c: i for i, c in enumerate(_CODE_CHARS)}
_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# What the profile asks, in order; the division only for sections that have divisions.
PROFILE_FIELDS = ("credit_code", "name", "city", "county", "industry", "industry_division",
                  "employees")
_NAME_MIN, _NAME_MAX = 2, 60
_COUNTY_MIN, _COUNTY_MAX = 2, 20
_MAX_EMPLOYEES = 10_000_000
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def normalize(text: str) -> str:
    """Full-width to half-width, trimmed: what people type on phones becomes comparable."""
    return unicodedata.normalize("NFKC", text).strip()


def whole_number(text: str) -> int | None:
    """A list number or level typed as up to 6 ASCII digits; None for anything else (so a
    5000-digit message or a digit int() cannot read, such as "᧚", never raises)."""
    return int(text) if re.fullmatch(r"[0-9]{1,6}", text) else None


def mobile_number(text: str) -> str | None:
    """A mainland mobile number as its 11 digits (spaces, dashes and +86 dropped), or None."""
    value = normalize(text).replace(" ", "").replace("-", "").removeprefix("+86")
    return value if _MOBILE.fullmatch(value) else None


def credit_code_check_char(first17: str) -> str:
    total = sum(_CODE_VALUE[c] * w for c, w in zip(first17, _CODE_WEIGHTS, strict=True))
    return _CODE_CHARS[(31 - total % 31) % 31]


def parse_credit_code(text: str) -> str | Problem:
    code = re.sub(r"[\s-]", "", normalize(text)).upper()
    if len(code) != 18:
        return Problem("credit_code_length",
                       N_("The unified social credit code has 18 characters; this has {n}."),
                       "credit_code", {"n": len(code)})
    bad = [c for c in code if c not in _CODE_VALUE]
    if bad:
        return Problem("credit_code_chars",
                       N_("The unified social credit code cannot contain \"{char}\" (I, O, S, V "
                          "and Z are never used)."), "credit_code", {"char": bad[0]})
    if credit_code_check_char(code[:17]) != code[17]:
        return Problem("credit_code_check",
                       N_("This unified social credit code fails its check character; please "
                          "compare it with the business licence."), "credit_code")
    return code


def parse_name(text: str) -> str | Problem:
    name = re.sub(r"\s+", " ", normalize(text))
    if not _NAME_MIN <= len(name) <= _NAME_MAX:
        return Problem("name_length", N_("The enterprise name should have {min} to {max} "
                                         "characters."), "name",
                       {"min": _NAME_MIN, "max": _NAME_MAX})
    return name


def parse_county(text: str) -> str | Problem:
    county = re.sub(r"\s+", "", normalize(text))
    if not _COUNTY_MIN <= len(county) <= _COUNTY_MAX:
        return Problem("county_length", N_("Please give the county or district, such as "
                                           "历下区 ({min} to {max} characters)."), "county",
                       {"min": _COUNTY_MIN, "max": _COUNTY_MAX})
    return county


def parse_employees(text: str) -> int | Problem:
    match = re.fullmatch(r"(\d{1,9})\s*(人|名)?", normalize(text).replace(",", ""))
    if not match or not 1 <= int(match.group(1)) <= _MAX_EMPLOYEES:
        return Problem("employees", N_("Please give the number of employees as a whole "
                                       "number, such as 120."), "employees")
    return int(match.group(1))


@dataclass(frozen=True, slots=True)
class Choice:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class ProfileReference:
    """The lists a profile is chosen from; data files under flows/reference/."""

    cities: tuple[str, ...]
    sections: tuple[Choice, ...]
    divisions: Mapping[str, tuple[Choice, ...]]  # section code -> its divisions, where asked

    def section(self, code: str) -> Choice | None:
        return next((s for s in self.sections if s.code == code), None)

    def division(self, section: str, code: str) -> Choice | None:
        return next((d for d in self.divisions.get(section, ()) if d.code == code), None)

    def industry_name(self, section: str, division: str | None = None) -> str:
        """An enterprise's industry as it reads: its division's name where it has one ("13",
        also written "C13"), else its section's (the code itself when neither is known)."""
        found = None if division is None else self.division(section,
                                                            division.removeprefix(section))
        found = found or self.section(section)
        return section if found is None else found.name

    def parse_city(self, text: str) -> str | Problem:
        value = normalize(text)
        number = whole_number(value)
        if number is not None and 1 <= number <= len(self.cities):
            return self.cities[number - 1]
        bare = value.removeprefix("山东省").removeprefix("山东")
        for city in self.cities:
            if bare in (city, city.removesuffix("市")):
                return city
        return Problem("city", N_("Please reply with a number from 1 to {n} or a city name "
                                  "from the list."), "city", {"n": len(self.cities)})

    def parse_section(self, text: str) -> str | Problem:
        value = normalize(text).upper()
        for section in self.sections:
            if value in (section.code, section.name):
                return section.code
        return Problem("industry", N_("Please reply with the letter of the industry section, "
                                      "such as C for manufacturing."), "industry")

    def asked_fields(self, profile: Mapping[str, Any]) -> tuple[str, ...]:
        """The fields asked of this profile, in order: the division only where its section has
        divisions (manufacturing)."""
        if profile.get("industry") in self.divisions:
            return PROFILE_FIELDS
        return tuple(f for f in PROFILE_FIELDS if f != "industry_division")

    def parse_field(self, field: str, text: str, section: str) -> Any:
        """`text` as the value of profile `field` (the division within `section`), or the
        `Problem` that says what is accepted."""
        if field == "credit_code":
            return parse_credit_code(text)
        if field == "name":
            return parse_name(text)
        if field == "city":
            return self.parse_city(text)
        if field == "county":
            return parse_county(text)
        if field == "industry":
            return self.parse_section(text)
        if field == "industry_division":
            return self.parse_division(section, text)
        if field == "employees":
            return parse_employees(text)
        raise ValueError(f"no profile field {field!r}")

    def with_fields(self, profile: Mapping[str, Any],
                    values: Mapping[str, Any]) -> dict[str, Any]:
        """`profile` with accepted `values` (None clears a field). A new section drops the
        division of the old one unless a division comes with it; a section without divisions
        keeps none."""
        result = dict(profile)
        if ("industry" in values and values["industry"] != profile.get("industry")
                and "industry_division" not in values):
            result.pop("industry_division", None)
        for field, value in values.items():
            if value is None:
                result.pop(field, None)
            else:
                result[field] = value
        if result.get("industry") not in self.divisions:
            result.pop("industry_division", None)
        return result

    def parse_division(self, section: str, text: str) -> str | Problem:
        value = normalize(text)
        for division in self.divisions.get(section, ()):
            if value in (division.code, division.name, section + division.code):
                return division.code
        return Problem("industry_division", N_("Please reply with the two-digit code of the "
                                               "industry division, such as 13."),
                       "industry_division")


def _load(name: str) -> Any:
    return json.loads(resources.files("flows.reference").joinpath(name).read_bytes())


def builtin_reference() -> ProfileReference:
    cities = _load("shandong-cities.json")["cities"]
    industries = _load("industries.json")
    return ProfileReference(
        cities=tuple(cities),
        sections=tuple(Choice(s["code"], s["name"]) for s in industries["sections"]),
        divisions={section: tuple(Choice(d["code"], d["name"]) for d in items)
                   for section, items in industries["divisions"].items()})
