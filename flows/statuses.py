"""Where an enterprise stands with its assessment, for the commissioners' lists and counts, the
notices' audience filter, the statistics and the export alike."""

from __future__ import annotations

from typing import Literal, TypeAlias

from flows.i18n import N_

Status: TypeAlias = Literal["not_started", "in_progress", "submitted"]
STATUSES: tuple[Status, ...] = ("not_started", "in_progress", "submitted")
# How the statuses are named to people (the commissioners' lists, the export).
STATUS_TITLES: dict[Status, str] = {"not_started": N_("Not started"),
                                    "in_progress": N_("In progress"),
                                    "submitted": N_("Submitted")}


def as_status(text: str) -> Status | None:
    """`text` when it names a status (input from outside), else None."""
    return next((status for status in STATUSES if status == text), None)
