"""Report links: an unguessable token per link, bound to one submission; the database keeps only
its digest (storage.report_links), so a link is given once, when the result is shown."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from storage import report_links
from storage.db import Sessions

TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def well_formed(token: str) -> bool:
    """Whether `token` could be one of ours (anything else is refused before any lookup)."""
    return _TOKEN.fullmatch(token) is not None


class ReportLinks:
    def __init__(self, sessions: Sessions, base_url: str, *, days: int,
                 clock: Callable[[], float]) -> None:
        self.sessions = sessions
        self.base_url = base_url.rstrip("/")
        self.lifetime = timedelta(days=days)
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    async def new(self, submission_id: int) -> str:
        """A new link to the submission's report page, valid for the configured days."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.now()
        await report_links.add(self.sessions, submission_id, digest(token), now,
                               now + self.lifetime)
        return f"{self.base_url}/r/{token}"

    async def submission_of(self, token: str) -> int | None:
        """The submission a link opens; None for a token that is malformed, unknown, expired or
        revoked (all look the same from outside)."""
        if not well_formed(token):
            return None
        return await report_links.submission_of(self.sessions, digest(token), self.now())
