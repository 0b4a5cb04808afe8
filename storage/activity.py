"""What the archive knows of drafts in progress (the drafts themselves live in Redis): whose,
for which enterprise once the credit code is given, how far, and when last touched. It makes
"not started / in progress" answerable in SQL, next to the submissions."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table

from storage.conversations import DEFAULT_STATE_TTL
from storage.db import Sessions, dialect_of, execute_alone, insert_of
from storage.models import DraftActivity

DRAFT_LIFETIME = timedelta(seconds=DEFAULT_STATE_TTL)  # untouched this long, Redis dropped it


@dataclass(frozen=True)
class Activity:
    person_id: str
    subject_id: str
    draft_id: str
    credit_code: str | None
    answered: int
    total: int
    started_at: datetime
    last_active_at: datetime


_COLUMNS = ("person_id", "subject_id", "draft_id", "credit_code", "answered", "total",
            "started_at", "last_active_at")


@functools.cache
def _upsert(dialect: str) -> Any:
    """The upsert of one person's row, built once per dialect: a statement built anew on every
    call is compiled anew too (about half the cost of the write)."""
    insert = insert_of(dialect)
    # Core, on the table: the ORM's bulk-insert path is not needed here.
    table = cast(Table, DraftActivity.__table__)
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.person_id],
        set_={name: statement.excluded[name] for name in _COLUMNS if name != "person_id"})


async def record(sessions: Sessions, activity: Activity) -> None:
    """The person's draft as it is now (one row per person: the newest draft wins)."""
    values = {name: getattr(activity, name) for name in _COLUMNS}
    await execute_alone(sessions, _upsert(dialect_of(sessions)), values)
