"""A provider's WeChat contact in the archive (SQLite and PostgreSQL), bound with a one-time
code as commissioners are: once, before it expires, only the digest kept; a person is one
provider's contact at most; a new code replaces the old; unbinding."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from flows.commissioners import Scope, binding_code, code_digest
from storage import binding_codes, commissioners, provider_contacts, solutions
from storage.db import Sessions
from storage.models import ServiceProvider
from tests.test_pool_file import code, row
from tests.test_solution_pool import rows

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def new_digest() -> tuple[str, str]:
    text = binding_code(secrets.token_bytes(32))
    digest = code_digest(text)
    assert digest is not None
    return text, digest


async def contact_of(sessions: Sessions, provider_id: int) -> str | None:
    found = await provider_contacts.get(sessions, provider_id)
    assert found is not None
    return found.person_id


async def providers(sessions: Sessions) -> tuple[int, int]:
    await solutions.import_rows(sessions, rows(row("云MES"), row("设备上云", provider=2)), NOW)
    first = await provider_contacts.by_credit_code(sessions, code(1))
    second = await provider_contacts.by_credit_code(sessions, code(2))
    assert first is not None and second is not None and first.person_id is None
    return first.provider_id, second.provider_id


async def test_a_provider_code_binds_its_contact_once(sessions: Sessions) -> None:
    one, two = await providers(sessions)
    text, digest = new_digest()
    assert await provider_contacts.new_code(sessions, one, digest, NOW + timedelta(days=3))
    assert not await provider_contacts.new_code(sessions, 999, digest, NOW)
    async with sessions() as session:
        stored = set(await session.scalars(select(ServiceProvider.code_digest)))
    assert text not in stored and digest in stored  # only the digest is kept
    # Two people race with the same code: exactly one gets it.
    results = await asyncio.gather(provider_contacts.bind(sessions, digest, "oa:x", NOW),
                                   provider_contacts.bind(sessions, digest, "oa:y", NOW))
    bound = [r for r in results if r is not None]
    assert len(bound) == 1 and bound[0].provider_id == one
    assert bound[0].name == "山东某某软件有限公司1" and bound[0].person_id in ("oa:x", "oa:y")
    assert await provider_contacts.bind(sessions, digest, "oa:z", NOW) is None  # used up
    assert not await binding_codes.expired(sessions, digest, NOW)  # used, not expired

    # The second provider's code moves the contact: one provider each at most.
    _text, other = new_digest()
    await provider_contacts.new_code(sessions, two, other, NOW + timedelta(days=3))
    moved = await provider_contacts.bind(sessions, other, bound[0].person_id or "", NOW)
    assert moved is not None and moved.provider_id == two
    assert await contact_of(sessions, one) is None

    # A new code replaces the old one; the contact stays until someone uses it.
    _text, old = new_digest()
    _text, fresh = new_digest()
    await provider_contacts.new_code(sessions, two, old, NOW + timedelta(days=3))
    await provider_contacts.new_code(sessions, two, fresh, NOW + timedelta(days=3))
    assert await contact_of(sessions, two) == moved.person_id
    assert await provider_contacts.bind(sessions, old, "oa:new", NOW) is None
    replaced = await provider_contacts.bind(sessions, fresh, "oa:new", NOW)
    assert replaced is not None and replaced.person_id == "oa:new"

    unbound = await provider_contacts.unbind(sessions, two)
    assert unbound is not None and unbound.person_id is None
    assert await provider_contacts.unbind(sessions, two) == unbound
    assert await provider_contacts.unbind(sessions, 999) is None


async def test_an_expired_code_binds_nobody_and_says_so(sessions: Sessions) -> None:
    one, _two = await providers(sessions)
    _text, digest = new_digest()
    await provider_contacts.new_code(sessions, one, digest, NOW - timedelta(minutes=1))
    assert await provider_contacts.bind(sessions, digest, "oa:late", NOW) is None
    assert await binding_codes.expired(sessions, digest, NOW)
    assert await contact_of(sessions, one) is None
    _text, never = new_digest()
    assert not await binding_codes.expired(sessions, never, NOW)


async def test_commissioner_and_provider_codes_are_apart(sessions: Sessions) -> None:
    """A commissioner's code binds no provider's contact, and the other way round; one person
    may be both."""
    one, _two = await providers(sessions)
    _text, theirs = new_digest()
    await commissioners.add(sessions, "王专员", Scope(("济南市",)), theirs,
                            NOW + timedelta(days=3), NOW)
    _text, ours = new_digest()
    await provider_contacts.new_code(sessions, one, ours, NOW + timedelta(days=3))
    assert await provider_contacts.bind(sessions, theirs, "oa:p", NOW) is None
    assert await commissioners.bind(sessions, ours, "oa:p", NOW) is None
    assert await commissioners.bind(sessions, theirs, "oa:p", NOW) is not None
    assert await provider_contacts.bind(sessions, ours, "oa:p", NOW) is not None
    assert await commissioners.bound_people(sessions) == {"oa:p"}
