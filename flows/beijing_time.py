"""Dates and times as our users read them: Beijing time (UTC+8, no daylight saving), for the
chat, the notices, the commissioners' lists and the export alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))


def china_day(at: datetime) -> str:
    """A moment as a date: 2026-12-10."""
    return at.astimezone(BEIJING).strftime("%Y-%m-%d")


def china_minute(at: datetime) -> str:
    """A moment to the minute: 2026-12-10 09:00."""
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def epoch_day(epoch: int) -> str:
    """`china_day` of epoch seconds (the conversation's clock)."""
    return china_day(datetime.fromtimestamp(epoch, tz=UTC))


def epoch_minute(epoch: int) -> str:
    """`china_minute` of epoch seconds."""
    return china_minute(datetime.fromtimestamp(epoch, tz=UTC))
