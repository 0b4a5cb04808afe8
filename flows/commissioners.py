"""Digital commissioners (数字专员): the area they answer for and the one-time codes that bind
their WeChat to them. Pure: the shell stores commissioners and hands in the random bytes and
the time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flows.i18n import N_
from flows.problems import Problem
from flows.profile import ProfileReference, normalize
from flows.statuses import Status

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a code read aloud or copied by hand survives.
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 10  # 25^10 ≈ 9.5e13: with attempts limited, not guessable
NAME_MAX = 40
ROSTER_SHOWN = 200  # enterprises listed in the chat (paged with 更多); the export has all


@dataclass(frozen=True, slots=True)
class Scope:
    """The enterprises a commissioner answers for: those in one of `cities` and, when
    `counties` is given, in one of them too."""

    cities: tuple[str, ...]
    counties: tuple[str, ...] = ()

    def includes(self, other: Scope) -> bool:
        """Whether every enterprise of `other` is in this area."""
        if not set(other.cities) <= set(self.cities):
            return False
        return not self.counties or bool(other.counties) and set(other.counties) <= set(
            self.counties)

    def as_data(self) -> dict[str, Any]:
        return {"cities": list(self.cities), "counties": list(self.counties)}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Scope:
        return cls(tuple(data.get("cities") or ()), tuple(data.get("counties") or ()))


def split_names(text: str) -> list[str]:
    """Cities or counties as typed in one field: separated by commas (either width) or 、."""
    return [part.strip() for part in text.replace("，", ",").replace("、", ",").split(",")
            if part.strip()]


def parse_scope(cities: Sequence[str], counties: Sequence[str],
                reference: ProfileReference) -> Scope | list[Problem]:
    problems: list[Problem] = []
    found: list[str] = []
    for text in cities:
        value = normalize(text)
        parsed = None if value.isdigit() else reference.parse_city(value)
        if parsed is None or isinstance(parsed, Problem):
            problems.append(Problem("city", N_("cities: {value} is not a city of Shandong."),
                                    "cities", {"value": text}))
        elif parsed not in found:
            found.append(parsed)
    if not cities:
        problems.append(Problem("required", N_("cities: at least one city"), "cities"))
    names = tuple(dict.fromkeys(normalize(c) for c in counties if normalize(c)))
    if problems:
        return problems
    return Scope(tuple(found), names)


def parse_name(text: str) -> str | Problem:
    value = normalize(text)
    if not 1 <= len(value) <= NAME_MAX:
        return Problem("name", N_("name: 1 to {max} characters"), "name", {"max": NAME_MAX})
    return value


def binding_code(random_bytes: bytes) -> str:
    """A code from random bytes (the shell draws 32 with `secrets`): bytes of 250 and above
    are skipped, so every symbol is equally likely (250 = 10 × 25)."""
    usable = [b for b in random_bytes if b < 250]
    if len(usable) < CODE_LENGTH:
        raise ValueError("not enough random bytes for a code")
    return "".join(CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in usable[:CODE_LENGTH])


def code_digest(text: str) -> str | None:
    """What is stored of a code (never the code itself), or None when `text` cannot be one."""
    value = normalize(text).upper().replace(" ", "").replace("-", "")
    if len(value) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in value):
        return None
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AreaProgress:
    """A commissioner's area at a glance (their 进度)."""

    area: str  # the cities and counties, as one text
    total: int
    by_status: Mapping[Status, int]
    levels: Mapping[int, int]  # latest preliminary level -> enterprises


@dataclass(frozen=True, slots=True)
class RosterEntry:
    name: str
    credit_code: str
    county: str
    detail: str  # "12/31 · 2026-11-30" or "二级 · 2026-11-30", the shell's facts as text


@dataclass(frozen=True, slots=True)
class RosterPage:
    """The enterprises of one status in a commissioner's area: `entries` from `offset` on,
    of `total`."""

    status: Status
    entries: tuple[RosterEntry, ...]
    total: int
    offset: int = 0

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, or None when this one is the last."""
        end = self.offset + len(self.entries)
        return end if self.entries and end < self.total else None


@dataclass(frozen=True, slots=True)
class NudgeReport:
    """What a commissioner's 催办 did: enterprises nudged (their people's messages queued) and
    those skipped, by why. `found` is False when a credit code asked for is not in the area."""

    nudged: int
    people: int
    recent: int  # nudged by anyone within the last NUDGE_DAYS
    no_contact: int  # nobody on WeChat has named the enterprise yet: a phone call is needed
    submitted: int = 0
    found: bool = True
    credit_code: str | None = None


NUDGE_DAYS = 3  # at most one nudge per enterprise in this many days, whoever sends it


def area_text(scope: Scope) -> str:
    return "、".join(scope.cities) + (f"（{'、'.join(scope.counties)}）" if scope.counties else "")
