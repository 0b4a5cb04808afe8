"""Writes that may lag a little, done at most every so often per person and process: the last
contact of a chat user, the progress of a draft. Memory is bounded: past `limit` people it
forgets them all at once (at worst one more write each)."""

from __future__ import annotations

from collections.abc import Hashable

LIMIT = 200_000


class PerPersonThrottle:
    def __init__(self, interval: float, *, limit: int = LIMIT) -> None:
        self.interval = interval
        self.limit = limit
        self._done: dict[str, tuple[float, Hashable]] = {}  # person -> when, about what

    def due(self, person_id: str, now: float, about: Hashable = None) -> bool:
        """True (and noted as done now) when the last time was `interval` ago or longer, or
        was about something else; False: skip it."""
        last = self._done.get(person_id)
        if last is not None and last[1] == about and now - last[0] < self.interval:
            return False
        if len(self._done) >= self.limit:
            self._done.clear()
        self._done[person_id] = (now, about)
        return True

    def forget(self, person_id: str) -> None:
        """The write failed: do it again next time."""
        self._done.pop(person_id, None)
