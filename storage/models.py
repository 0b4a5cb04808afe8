"""ORM tables of the enterprise archive (一企一档): enterprises, the people who talk to the bot,
their submitted assessments, notices, commissioners, and the province's solution pool. Only
`storage` uses these classes; callers get dataclasses.

The schema itself is owned by the Alembic revisions in `storage/migrations/`; keep both in step
(`tests/test_archive.py` checks that the migrated database matches these models).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, MetaData, String, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import ExactDecimal, JSONData, UTCDateTime

# Deterministic constraint names: Alembic needs them to alter or drop constraints later,
# and SQLite's batch mode cannot recreate unnamed ones.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Enterprise(Base):
    """One enterprise, keyed by its 统一社会信用代码; the profile is the latest one submitted or
    imported with the roster."""

    __tablename__ = "enterprises"
    __table_args__ = (Index("ix_enterprises_city_county", "city", "county"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(32))
    county: Mapped[str] = mapped_column(String(32))
    industry: Mapped[str] = mapped_column(String(8))  # GB/T 4754 section, e.g. "C"
    industry_division: Mapped[str | None] = mapped_column(String(8))  # e.g. "C13"
    employees: Mapped[int | None]
    # From the roster a department imports (待转型企业库); never shown to other enterprises.
    contact_name: Mapped[str | None] = mapped_column(String(40))
    contact_mobile: Mapped[str | None] = mapped_column(String(20))
    in_roster: Mapped[bool] = mapped_column(default=False)
    roster_imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Person(Base):
    """A WeChat user on one channel (official account "oa" or mini-program "mp")."""

    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # "<channel>:<openid>"
    channel: Mapped[str] = mapped_column(String(16))
    openid: Mapped[str] = mapped_column(String(64))
    # The same human on both channels shares a unionid, hence not unique.
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    subscribed: Mapped[bool] = mapped_column(default=False)
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Replied 退订通知: no notices (reminders of their own sign-ups still come).
    notices_opt_out: Mapped[bool] = mapped_column(default=False)
    # The enterprise this person last submitted for; kept if the enterprise row ever goes.
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Submission(Base):
    """One submitted assessment: the answers, the exact scores and the full result, as submitted.

    `draft_id` is the idempotency key: submitting the same draft twice never makes two rows.
    `person_id` is deliberately not a foreign key, so erasing a person keeps the enterprise's
    history.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        # History of one enterprise / of one person, newest first. The first also serves
        # lookups by enterprise_id alone, so that column needs no index of its own.
        Index("ix_submissions_enterprise_id_submitted_at", "enterprise_id", "submitted_at"),
        Index("ix_submissions_person_id_submitted_at", "person_id", "submitted_at"),
        Index("ix_submissions_subject_id_submitted_at", "subject_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[str] = mapped_column(String(64), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    person_id: Mapped[str] = mapped_column(String(128))
    # Whose draft it was: "u:<unionid>" when WeChat links the person's channels, else person_id.
    subject_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    indicator_set: Mapped[str] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONData())
    figures: Mapped[dict[str, Any]] = mapped_column(JSONData())  # name -> exact decimal text
    profile: Mapped[dict[str, Any]] = mapped_column(JSONData())  # the profile as answered
    total: Mapped[Decimal] = mapped_column(ExactDecimal(8, 4))
    foundation: Mapped[Decimal] = mapped_column(ExactDecimal(8, 4))
    management: Mapped[Decimal] = mapped_column(ExactDecimal(8, 4))
    effectiveness: Mapped[Decimal] = mapped_column(ExactDecimal(8, 4))
    level: Mapped[int]
    level_name: Mapped[str] = mapped_column(String(64))
    scene_levels: Mapped[dict[str, Any]] = mapped_column(JSONData())  # scene code -> level
    result: Mapped[dict[str, Any]] = mapped_column(JSONData())  # flows.results.assessment_data
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SubscribeConsent(Base):
    """Mini-program subscribe-message consents (订阅消息): each acceptance of a template allows one
    later send of it to that person, so acceptances are counted and sends consume them."""

    __tablename__ = "subscribe_consents"

    person_id: Mapped[str] = mapped_column(String(128), primary_key=True)  # "mp:<openid>"
    template_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    remaining: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notice(Base):
    """A training, event or policy notice and whom it concerns (`audience`, the filters)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # training | event | policy
    title: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(String(1000))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    place: Mapped[str | None] = mapped_column(String(120))
    link: Mapped[str | None] = mapped_column(String(500))
    signup_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    capacity: Mapped[int | None]
    audience: Mapped[dict[str, Any]] = mapped_column(JSONData())
    # draft -> scheduled -> sending -> sent; draft/scheduled/sending -> cancelled
    status: Mapped[str] = mapped_column(String(16), default="draft")
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The fan-out's cursor: recipients up to this person id are queued (restarts resume here).
    planned_until: Mapped[str | None] = mapped_column(String(128))
    planned: Mapped[bool] = mapped_column(default=False)
    # WeChat said 45009 (quota reached): nothing of this notice is sent before this time.
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pause_errcode: Mapped[int | None]
    # The reminders before the start are queued (once per notice).
    reminders_planned: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class NoticeDelivery(Base):
    """One message of a notice to one channel person: queued -> sending -> sent | failed |
    skipped, or unknown when a worker died during the send (WeChat has no idempotency key).

    `purpose` says which message: the campaign's `notice`, or one of the person's own sign-up:
    `reminder` before the start, `promoted` from the waiting list, `cancelled` event."""

    __tablename__ = "notice_deliveries"
    # (status, purpose, updated_at): the personal messages due, the campaign entries lost and
    # the sends stuck are each one index range, however many campaign deliveries wait.
    __table_args__ = (Index("ix_notice_deliveries_status_purpose_updated_at", "status",
                            "purpose", "updated_at"),
                      Index("ix_notice_deliveries_notice_id_status", "notice_id", "status"))

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True, default="notice")
    person_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(16))  # template | subscribe | custom
    errcode: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Registration(Base):
    """A sign-up for a notice's training or event: registered, waitlisted (in sign-up order)
    or cancelled. At most `capacity` are registered; a cancellation promotes the first on the
    waiting list."""

    __tablename__ = "notice_registrations"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # registered | waitlisted | cancelled
    signed_up_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the waiting list's order
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DraftActivity(Base):
    """A draft in progress as the archive knows it (the draft itself lives in Redis): which
    enterprise it is for once the credit code is given, how far it is, when it was last touched.
    Written at most every few minutes per person; removed when the draft is submitted."""

    __tablename__ = "draft_activity"

    person_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(128))
    draft_id: Mapped[str] = mapped_column(String(64), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    answered: Mapped[int]
    total: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The idle reminder of the current idle period went out (or a nudge covered it): once
    # per period, a period being the time since `last_active_at`.
    idle_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Commissioner(Base):
    """A digital commissioner (数字专员) and the area they answer for (`scope`: cities and
    optionally counties). Their WeChat is bound with a one-time code, of which only the
    SHA-256 digest is kept, until it is used or expires."""

    __tablename__ = "commissioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    scope: Mapped[dict[str, Any]] = mapped_column(JSONData())
    person_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    code_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EnterpriseNudge(Base):
    """The latest nudge (催办) of an enterprise's people, whoever sent it: the next one may go
    only `storage.nudges.NUDGE_GAP` later. The messages are deliveries of `notice_id`."""

    __tablename__ = "enterprise_nudges"

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    nudged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    commissioner_id: Mapped[int | None]  # None: the automatic reminder of an idle draft


class ApiToken(Base):
    """A bearer token for the admin API: a province admin's (everything) or a commissioner's
    (their area only). Only the SHA-256 digest is kept; a revoked token stops at once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(16))  # province | commissioner
    commissioner_id: Mapped[int | None] = mapped_column(ForeignKey("commissioners.id"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ServiceProvider(Base):
    """A provider of the province's solution pool (服务商), keyed by its credit code; where it
    serves (`cities`, empty: the whole province) and whom to call."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    cities: Mapped[list[str]] = mapped_column(JSONData())
    contact_name: Mapped[str | None] = mapped_column(String(40))
    contact_mobile: Mapped[str | None] = mapped_column(String(20))  # a mobile or a landline
    leading: Mapped[bool] = mapped_column(default=False)  # 领军企业
    # The contact's WeChat (a person of the Official Account), bound with a one-time code of
    # which only the digest is kept, as for commissioners; told of every new lead.
    contact_person_id: Mapped[str | None] = mapped_column(String(128))
    code_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PoolSolution(Base):
    """A provider's standard solution (小快轻准): the scenes it lifts and to which level
    (`lifts`, scene code -> level), the industries it fits (empty: any). A retired one is
    never proposed again but stays, for the history of what was proposed."""

    __tablename__ = "solutions"
    __table_args__ = (UniqueConstraint("provider_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    title: Mapped[str] = mapped_column(String(60))
    summary: Mapped[str] = mapped_column(String(500))
    lifts: Mapped[dict[str, Any]] = mapped_column(JSONData())
    industries: Mapped[list[str]] = mapped_column(JSONData())
    price: Mapped[str] = mapped_column(String(60))
    free_trial: Mapped[bool] = mapped_column(default=False)
    deployment: Mapped[str] = mapped_column(String(8))  # cloud | local | both
    link: Mapped[str | None] = mapped_column(String(500))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PoolVersion(Base):
    """One row whose `version` goes up in the transaction of every change to the pool, so a
    process that keeps the live pool in memory reloads it only when it changed. A counter, not
    the newest updated_at: a transaction that started earlier can commit later with an older
    time, and the processes' clocks differ."""

    __tablename__ = "pool_version"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    version: Mapped[int] = mapped_column(default=0)


class Lead(Base):
    """A 供需对接 request: a person of an enterprise asked the provider of a solution to call them
    on `mobile` (giving it was their consent, at `consented_at`). At most one open lead per
    enterprise and solution: a second 对接 finds the first. Its status moves new → contacted →
    trial → project → closed."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("uq_leads_open_enterprise_id_solution_id", "enterprise_id", "solution_id",
              unique=True, sqlite_where=text("status <> 'closed'"),
              postgresql_where=text("status <> 'closed'")),
        Index("ix_leads_solution_id", "solution_id"),
        Index("ix_leads_enterprise_id_created_at", "enterprise_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    solution_id: Mapped[int] = mapped_column(ForeignKey("solutions.id"))
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"))  # who asked
    channel: Mapped[str] = mapped_column(String(8))
    mobile: Mapped[str] = mapped_column(String(20))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="new")
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1)  # raised by every change: stale ones 409
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # provider told
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Project(Base):
    """A lead that became a retrofit project (一项一档): the scenes it targets, the planned and
    actual dates, the investment in 万元, and the enterprise's submission before it. The one
    after it is the enterprise's first submission on or after the actual end (read, not kept:
    a re-assessment needs no one to link it)."""

    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_enterprise_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    solution_id: Mapped[int] = mapped_column(ForeignKey("solutions.id"))
    scenes: Mapped[list[str]] = mapped_column(JSONData())
    planned_start: Mapped[date]
    planned_end: Mapped[date]
    actual_start: Mapped[date | None]
    actual_end: Mapped[date | None]
    investment: Mapped[Decimal | None] = mapped_column(ExactDecimal(12, 2))
    before_submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ReportLink(Base):
    """A link to one submission's report page (`/r/<token>`), for whoever holds it: only the
    token's SHA-256 digest is kept; it stops at `expires_at`, or at once when revoked."""

    __tablename__ = "report_links"
    __table_args__ = (Index("ix_report_links_submission_id", "submission_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
