"""One-time sign-in links to the console: a commissioner's from the chat (后台), anyone's from
`dxbot console-link`."""

from __future__ import annotations

from flows.events import ConsoleLink, NotCommissioner
from storage import commissioners
from storage.console_sessions import LINK_TTL, ConsoleStore, ConsoleUser
from storage.db import Sessions


def sign_in_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/console/sign-in/{token}"


class ConsoleLinks:
    def __init__(self, store: ConsoleStore, sessions: Sessions, base_url: str) -> None:
        self.store = store
        self.sessions = sessions
        self.base_url = base_url

    async def for_person(self, person_id: str) -> ConsoleLink | NotCommissioner:
        """The commissioner bound to this WeChat person gets a link to their area's console."""
        found = await commissioners.of_person(self.sessions, person_id)
        if found is None:
            return NotCommissioner()
        token = await self.store.new_link(ConsoleUser(found.name, found.id))
        return ConsoleLink(sign_in_url(self.base_url, token), LINK_TTL // 60)
