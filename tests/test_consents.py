"""Subscribe-message consents on SQLite and PostgreSQL: counted acceptances, atomic use."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.consents import add_consents, consent_balances, consume_consent, revoke_consent

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ANN = "mp:o-ann"
TRAINING = "tmpl-training-notice"
EVENT = "tmpl-event-reminder"


async def test_each_acceptance_allows_one_send(sessions: Sessions) -> None:
    assert await add_consents(sessions, ANN, [TRAINING, EVENT, TRAINING], T0) == {
        TRAINING: 1, EVENT: 1}
    assert await add_consents(sessions, ANN, [TRAINING], T0) == {TRAINING: 2}
    assert await consume_consent(sessions, ANN, TRAINING, T0)
    assert await consume_consent(sessions, ANN, TRAINING, T0)
    assert not await consume_consent(sessions, ANN, TRAINING, T0)
    assert not await consume_consent(sessions, "mp:o-bob", TRAINING, T0)  # never accepted
    assert await consent_balances(sessions, ANN) == {TRAINING: 0, EVENT: 1}


async def test_concurrent_sends_never_use_more_than_was_accepted(sessions: Sessions) -> None:
    for _ in range(3):
        await add_consents(sessions, ANN, [TRAINING], T0)
    used = await asyncio.gather(*(consume_consent(sessions, ANN, TRAINING, T0)
                                  for _ in range(10)))
    assert sum(used) == 3
    assert await consent_balances(sessions, ANN) == {TRAINING: 0}


async def test_a_refusal_clears_the_balance(sessions: Sessions) -> None:
    await add_consents(sessions, ANN, [EVENT], T0)
    await add_consents(sessions, ANN, [EVENT], T0)
    await revoke_consent(sessions, ANN, EVENT, T0)
    assert not await consume_consent(sessions, ANN, EVENT, T0)
    assert await consent_balances(sessions, ANN) == {EVENT: 0}
