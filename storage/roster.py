"""The roster of enterprises to transform in the archive: imported rows are upserted by credit
code (the profile and contacts become the imported ones; submissions stay)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select

from flows.roster import RosterRow
from storage.db import Sessions, insert_for
from storage.models import Enterprise

BATCH = 1000


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int


async def import_rows(sessions: Sessions, rows: Sequence[RosterRow], now: datetime) -> Imported:
    """Upsert the rows (already checked, no credit code twice), in batches of one transaction
    each: a batch is imported whole or not at all."""
    added = updated = 0
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        codes = [r.credit_code for r in batch]
        async with sessions() as session:
            known = set(await session.scalars(
                select(Enterprise.credit_code).where(Enterprise.credit_code.in_(codes))))
            values = [{"credit_code": r.credit_code, "name": r.name, "city": r.city,
                       "county": r.county, "industry": r.industry,
                       "contact_name": r.contact_name, "contact_mobile": r.contact_mobile,
                       "in_roster": True, "roster_imported_at": now, "created_at": now,
                       "updated_at": now} for r in batch]
            insert = insert_for(session)
            statement = insert(Enterprise)
            changed = {name: getattr(statement.excluded, name) for name in (
                "name", "city", "county", "industry", "contact_name", "contact_mobile",
                "in_roster", "roster_imported_at", "updated_at")}
            # A division answered in the chat belongs to its industry only.
            changed["industry_division"] = case(
                (Enterprise.industry == statement.excluded.industry,
                 Enterprise.industry_division), else_=None)
            await session.execute(statement.on_conflict_do_update(
                index_elements=[Enterprise.credit_code], set_=changed), values)
            await session.commit()
        updated += len(known)
        added += len(batch) - len(known)
    return Imported(added, updated)
