"""What the archive knows of drafts in progress (the drafts themselves live in Redis): whose,
for which enterprise once the credit code is given, how far, and when last touched. It makes
"not started / in progress" answerable in SQL, next to the submissions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.conversations import DEFAULT_STATE_TTL
from storage.db import Sessions, insert_for
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


async def record(sessions: Sessions, activity: Activity) -> None:
    """The person's draft as it is now (one row per person: the newest draft wins)."""
    values = {"person_id": activity.person_id, "subject_id": activity.subject_id,
              "draft_id": activity.draft_id, "credit_code": activity.credit_code,
              "answered": activity.answered, "total": activity.total,
              "started_at": activity.started_at, "last_active_at": activity.last_active_at}
    async with sessions() as session:
        insert = insert_for(session)
        changed = {k: v for k, v in values.items() if k != "person_id"}
        await session.execute(insert(DraftActivity).values(values).on_conflict_do_update(
            index_elements=[DraftActivity.person_id], set_=changed))
        await session.commit()
