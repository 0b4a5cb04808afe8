"""The enterprise archive (一企一档): record submitted assessments, reuse profiles, read results.

Every function takes the sessionmaker and runs its own transaction; results are frozen dataclasses,
never ORM objects. Database errors propagate unchanged: the shell turns them into "try again".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Sessions, dialect_of, execute_alone, insert_of
from storage.models import DraftActivity, Enterprise, Person, Submission, utcnow

DIMENSIONS = ("foundation", "management", "effectiveness")
# Only official-account users can message the account, so one we hear from is subscribed.
_CHANNELS_IMPLYING_SUBSCRIPTION = frozenset({"oa"})


@dataclass(frozen=True)
class Profile:
    """The enterprise profile asked in the chat before the questions."""

    name: str
    credit_code: str  # 统一社会信用代码, 18 characters, already validated
    city: str
    county: str
    industry: str  # GB/T 4754 section code, e.g. "C"
    industry_division: str | None = None  # e.g. "C13"
    employees: int | None = None


@dataclass(frozen=True)
class SubmissionRecord:
    """Everything one submission stores. `result` is `flows.results.assessment_data` output."""

    draft_id: str  # idempotency key: recording the same draft twice stores it once
    person_id: str  # `person_key(channel, openid)`
    channel: str
    indicator_set: str
    profile: Profile
    answers: dict[str, Any]  # code -> "C" | ["B", "D"] | scene level
    figures: dict[str, Decimal]
    total: Decimal
    dimensions: dict[str, Decimal]  # exactly the keys of DIMENSIONS
    level: int
    level_name: str
    scene_levels: dict[str, int]
    result: dict[str, Any]
    started_at: datetime | None
    submitted_at: datetime
    # Whose draft it was across channels ("u:<unionid>"); None: the submitting person's own.
    subject_id: str | None = None

    @property
    def subject(self) -> str:
        return self.subject_id or self.person_id


@dataclass(frozen=True)
class StoredResult:
    """A submission as the history shows it. `enterprise_name` is the name as submitted."""

    submission_id: int
    credit_code: str
    enterprise_name: str
    indicator_set: str
    total: Decimal
    dimensions: dict[str, Decimal]
    level: int
    level_name: str
    result: dict[str, Any]  # as recorded; non-integral numbers come back as Decimal
    submitted_at: datetime


def person_key(channel: str, openid: str) -> str:
    """Our key for a WeChat user: openids are per app, so the channel is part of it."""
    return f"{channel}:{openid}"


# --- writing ---------------------------------------------------------------------------------


async def record_submission(sessions: Sessions, record: SubmissionRecord) -> StoredResult:
    """Store `record` in one transaction and return it as stored.

    Upserts the enterprise by credit code (its profile becomes the submitted one), inserts the
    submission and links the person to the enterprise (creating the person if new). A draft
    that is already stored — also by a concurrent call — is returned as it was stored first.
    """
    query = _stored_query().where(Submission.draft_id == record.draft_id)
    (stored,) = await _record(sessions, record, lambda _enterprise_id: query)
    return stored


async def record_with_history(sessions: Sessions, record: SubmissionRecord, *,
                              limit: int = 2) -> tuple[StoredResult, ...]:
    """`record_submission`, returning the enterprise's newest `limit` results once it is stored
    (as `latest_results` by its credit code would)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")

    def history(enterprise_id: int) -> Select[Any]:
        return (_stored_query().where(Submission.enterprise_id == enterprise_id)
                .order_by(Submission.submitted_at.desc(), Submission.id.desc()).limit(limit))

    return tuple(await _record(sessions, record, history))


async def _record(sessions: Sessions, record: SubmissionRecord,
                  read: Callable[[int], Select[Any]]) -> list[StoredResult]:
    """Write `record`, then return what `read(enterprise_id)` selects: read in the write's
    transaction before its commit, or after the commit of PostgreSQL's single statement, or
    after a lost race (the draft stored by another call) from what that one stored."""
    if set(record.dimensions) != set(DIMENSIONS):
        raise ValueError(
            f"dimensions must be {', '.join(DIMENSIONS)}, got {', '.join(record.dimensions)}")
    now = utcnow()
    enterprise, person = _enterprise_values(record.profile, now), _person_values(record, now)
    submission = _submission_values(record)
    dialect = dialect_of(sessions)
    if dialect == "postgresql":
        # One statement, atomic by itself: one round trip where a transaction of four
        # statements takes six (each a turn of a busy event loop for the chat message waiting).
        values = {**_prefixed("e_", enterprise), **_prefixed("s_", submission),
                  **_prefixed("p_", person)}
        try:
            (written,) = await execute_alone(sessions, _one_statement(), values)
            enterprise_id = written.enterprise_id
        except IntegrityError as error:
            enterprise_id = await _enterprise_of_draft(sessions, record.draft_id, error)
        return [_stored(row) for row in await execute_alone(sessions, read(enterprise_id))]
    statements = _writes(dialect)
    async with sessions() as session:
        try:
            enterprise_id = (await session.execute(statements.enterprise,
                                                   enterprise)).scalar_one()
            linked = {"enterprise_id": enterprise_id}
            await session.execute(statements.submission, {**submission, **linked})
            await session.execute(statements.person, {**person, **linked})
            # The draft is no longer in progress (storage.activity's rows).
            await session.execute(statements.activity_done, {"draft_id": record.draft_id})
            # Read back rather than echo `record`: the caller sees exactly what later reads
            # return. Committed before anyone is told.
            found = [_stored(row) for row in await session.execute(read(enterprise_id))]
            await session.commit()
            return found
        except IntegrityError as error:
            await session.rollback()
            lost = error
    enterprise_id = await _enterprise_of_draft(sessions, record.draft_id, lost)
    return [_stored(row) for row in await execute_alone(sessions, read(enterprise_id))]


async def _enterprise_of_draft(sessions: Sessions, draft_id: str, error: IntegrityError) -> int:
    """After an IntegrityError: the draft is stored already (a retried or concurrent submit;
    draft_id is unique), or else the error was another one and is raised again."""
    rows = await execute_alone(sessions, select(Submission.enterprise_id).where(
        Submission.draft_id == draft_id))
    if not rows:
        raise error
    return int(rows[0].enterprise_id)


def _person_values(record: SubmissionRecord, now: datetime) -> dict[str, Any]:
    return {"id": record.person_id, "channel": record.channel,
            "openid": _openid(record.person_id, record.channel),
            "subscribed": record.channel in _CHANNELS_IMPLYING_SUBSCRIPTION, "created_at": now}


def _prefixed(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    return {prefix + name: value for name, value in values.items()}


@dataclass(frozen=True)
class _Writes:
    enterprise: Any
    submission: Any
    person: Any
    activity_done: Any


_ENTERPRISE_FIELDS = ("name", "city", "county", "industry", "industry_division", "employees")


@functools.cache
def _writes(dialect: str) -> _Writes:
    """A submission's statements, built once per dialect (Core, on the tables: a statement built
    on every call is compiled on every call, and the ORM's unit of work is not needed here)."""
    insert = insert_of(dialect)
    enterprises = cast(Table, Enterprise.__table__)
    enterprise = insert(enterprises)
    # The submitted profile is the latest truth: every field is overwritten, None included.
    enterprise = enterprise.on_conflict_do_update(
        index_elements=[enterprises.c.credit_code],
        set_={name: enterprise.excluded[name] for name in (*_ENTERPRISE_FIELDS, "updated_at")},
    ).returning(enterprises.c.id)
    people = cast(Table, Person.__table__)
    person = insert(people)
    person = person.on_conflict_do_update(
        index_elements=[people.c.id], set_={"enterprise_id": person.excluded.enterprise_id})
    activity = cast(Table, DraftActivity.__table__)
    return _Writes(
        enterprise=enterprise,
        submission=insert(cast(Table, Submission.__table__)),
        person=person,
        activity_done=delete(activity).where(activity.c.draft_id == bindparam("draft_id")),
    )


_PERSON_COLUMNS = ("id", "channel", "openid", "subscribed", "created_at")


@functools.cache
def _one_statement() -> Any:
    """PostgreSQL's submission as one statement of data-modifying CTEs (all or nothing, like
    the transaction it replaces): upsert the enterprise, insert the submission for it, link the
    person to it, drop the draft's activity row; returns the submission's and enterprise's ids.
    Parameters: the enterprise's columns as ``e_<column>``, the submission's as ``s_<column>``
    (but its enterprise), the person's as ``p_<column>``."""
    enterprises = cast(Table, Enterprise.__table__)
    submissions = cast(Table, Submission.__table__)
    people = cast(Table, Person.__table__)
    activity = cast(Table, DraftActivity.__table__)

    def binds(prefix: str, table: Table, names: Iterable[str]) -> list[Any]:
        return [bindparam(prefix + name, type_=table.c[name].type) for name in names]

    def defaults(table: Table, given: Iterable[str]) -> dict[str, Any]:
        # Column defaults are not applied to a CTE's INSERT: the scalar ones are written here.
        return {c.name: literal(cast(Any, c.default).arg, type_=c.type) for c in table.c
                if c.name not in given and c.default is not None and c.default.is_scalar}

    enterprise_columns = ("credit_code", "created_at", "updated_at", *_ENTERPRISE_FIELDS)
    enterprise = postgresql.insert(enterprises).values({
        **dict(zip(enterprise_columns, binds("e_", enterprises, enterprise_columns),
                   strict=True)),
        **defaults(enterprises, enterprise_columns)})
    enterprise_row = enterprise.on_conflict_do_update(
        index_elements=[enterprises.c.credit_code],
        set_={name: enterprise.excluded[name] for name in (*_ENTERPRISE_FIELDS, "updated_at")},
    ).returning(enterprises.c.id).cte("enterprise")
    submission_columns = [c.name for c in submissions.c if c.name not in ("id", "enterprise_id")]
    submission = postgresql.insert(submissions).from_select(
        [*submission_columns, "enterprise_id"],
        select(*binds("s_", submissions, submission_columns), enterprise_row.c.id),
    ).returning(submissions.c.id, submissions.c.enterprise_id).cte("submission")
    person_defaults = defaults(people, (*_PERSON_COLUMNS, "enterprise_id"))
    person = postgresql.insert(people).from_select(
        [*_PERSON_COLUMNS, "enterprise_id", *person_defaults],
        select(*binds("p_", people, _PERSON_COLUMNS), enterprise_row.c.id,
               *person_defaults.values()))
    person_row = person.on_conflict_do_update(
        index_elements=[people.c.id], set_={"enterprise_id": person.excluded.enterprise_id},
    ).cte("person")
    activity_done = delete(activity).where(
        activity.c.draft_id == bindparam("s_draft_id", type_=activity.c.draft_id.type),
    ).cte("activity_done")
    return select(submission.c.id, submission.c.enterprise_id).add_cte(person_row,
                                                                       activity_done)


async def set_subscribed(
    sessions: Sessions,
    person_id: str,
    channel: str,
    openid: str,
    subscribed: bool,
    at: datetime,
    *,
    unionid: str | None = None,
) -> None:
    """Record a subscribe (`subscribed=True`) or unsubscribe event at `at`, creating the person."""
    _check_person(person_id, channel, openid)
    stamp = "subscribed_at" if subscribed else "unsubscribed_at"
    changes: dict[str, Any] = {"subscribed": subscribed, stamp: at}
    if unionid is not None:
        changes["unionid"] = unionid
    await _upsert_person(sessions, person_id, channel, openid, subscribed=subscribed,
                         changes=changes)


async def touch_person(
    sessions: Sessions,
    person_id: str,
    channel: str,
    openid: str,
    at: datetime,
    *,
    unionid: str | None = None,
) -> None:
    """Note that the person sent a message at `at`, creating the person if new."""
    _check_person(person_id, channel, openid)
    changes: dict[str, Any] = {"last_message_at": at}
    if unionid is not None:
        changes["unionid"] = unionid
    await _upsert_person(sessions, person_id, channel, openid,
                         subscribed=channel in _CHANNELS_IMPLYING_SUBSCRIPTION, changes=changes)


# --- reading ---------------------------------------------------------------------------------


async def enterprise_profile(sessions: Sessions, credit_code: str) -> Profile | None:
    """The archived profile for `credit_code`, or None when the enterprise has no archive yet."""
    rows = await execute_alone(sessions, _profile_query(), {"credit_code": credit_code})
    return Profile(credit_code=credit_code, **rows[0]._asdict()) if rows else None


@functools.cache
def _profile_query() -> Select[Any]:
    # Columns, not the ORM entity: nothing here needs an identity map.
    return select(*(getattr(Enterprise, name) for name in _ENTERPRISE_FIELDS)).where(
        Enterprise.credit_code == bindparam("credit_code"))


async def latest_results(
    sessions: Sessions,
    *,
    person_id: str | None = None,
    subject_id: str | None = None,
    credit_code: str | None = None,
    limit: int = 2,
) -> list[StoredResult]:
    """The newest `limit` results of one enterprise, newest first.

    Give exactly one of `person_id` or `subject_id` (the enterprise that person, or whoever
    holds that cross-channel subject, last submitted for, so results of colleagues are
    included) or `credit_code`. Unknown person, subject or code: an empty list.
    """
    if sum(x is not None for x in (person_id, subject_id, credit_code)) != 1:
        raise ValueError("give exactly one of person_id, subject_id and credit_code")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    query = _stored_query()
    if person_id is not None or subject_id is not None:
        who = (Submission.person_id == person_id if person_id is not None
               else Submission.subject_id == subject_id)
        last_enterprise = (
            select(Submission.enterprise_id)
            .where(who)
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = query.where(Submission.enterprise_id == last_enterprise)
    else:
        query = query.where(Enterprise.credit_code == credit_code)
    query = query.order_by(Submission.submitted_at.desc(), Submission.id.desc()).limit(limit)
    return [_stored(row) for row in await execute_alone(sessions, query)]


# --- helpers ---------------------------------------------------------------------------------




def _openid(person_id: str, channel: str) -> str:
    prefix = person_key(channel, "")
    if not person_id.startswith(prefix) or len(person_id) == len(prefix):
        raise ValueError(f"person id {person_id!r} is not of the form {prefix}<openid>")
    return person_id[len(prefix):]


def _check_person(person_id: str, channel: str, openid: str) -> None:
    if person_id != person_key(channel, openid):
        raise ValueError(f"person id {person_id!r} does not match {person_key(channel, openid)!r}")


def _enterprise_values(profile: Profile, now: datetime) -> dict[str, Any]:
    return {"credit_code": profile.credit_code, "created_at": now, "updated_at": now,
            **{name: getattr(profile, name) for name in _ENTERPRISE_FIELDS}}


async def _upsert_person(sessions: Sessions, person_id: str, channel: str, openid: str, *,
                         subscribed: bool, changes: dict[str, Any]) -> None:
    # `subscribed` is for a new row only; `changes` apply to both a new and an existing row.
    insert = insert_of(dialect_of(sessions))
    values = {"id": person_id, "channel": channel, "openid": openid,
              "subscribed": subscribed, "created_at": utcnow(), **changes}
    statement = insert(Person).values(**values)
    await execute_alone(sessions, statement.on_conflict_do_update(
        index_elements=[Person.id], set_=changes))


def _submission_values(record: SubmissionRecord) -> dict[str, Any]:
    return {
        "draft_id": record.draft_id,
        "person_id": record.person_id,
        "subject_id": record.subject,
        "channel": record.channel,
        "indicator_set": record.indicator_set,
        "answers": record.answers,
        # Text, not JSON numbers: figures may have more digits than a float carries.
        "figures": {name: format(value, "f") for name, value in record.figures.items()},
        "profile": asdict(record.profile),
        "total": record.total,
        **{name: record.dimensions[name] for name in DIMENSIONS},
        "level": record.level,
        "level_name": record.level_name,
        "scene_levels": record.scene_levels,
        "result": record.result,
        "started_at": record.started_at,
        "submitted_at": record.submitted_at,
    }


def _stored_query() -> Select[Any]:
    return select(
        Submission.id, Enterprise.credit_code, Submission.profile, Submission.indicator_set,
        Submission.total, Submission.foundation, Submission.management, Submission.effectiveness,
        Submission.level, Submission.level_name, Submission.result, Submission.submitted_at,
    ).join(Enterprise, Submission.enterprise_id == Enterprise.id)


async def _stored_by_draft(session: AsyncSession, draft_id: str) -> StoredResult | None:
    row = (await session.execute(
        _stored_query().where(Submission.draft_id == draft_id))).one_or_none()
    return None if row is None else _stored(row)


def _stored(row: Any) -> StoredResult:
    return StoredResult(
        submission_id=row.id,
        credit_code=row.credit_code,
        enterprise_name=row.profile["name"],
        indicator_set=row.indicator_set,
        total=row.total,
        dimensions={name: getattr(row, name) for name in DIMENSIONS},
        level=row.level,
        level_name=row.level_name,
        result=row.result,
        submitted_at=row.submitted_at,
    )
