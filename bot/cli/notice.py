"""`dxbot notice ...`: the admin API's notice operations from a terminal, on the same database.

Prints JSON (one object per line); exits 2 with one line per problem for a bad notice file or
argument, 1 when the notice does not exist or cannot change that way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.api.admin import notice_report, notice_view
from bot.config import Settings
from flows.i18n import Translator
from flows.indicators import DEFAULT_SET_ID, builtin_sets
from flows.notices import Audience, parse_notice
from flows.problems import Problem
from flows.profile import builtin_reference
from flows.results import json_default
from storage import notices
from storage.db import Sessions, open_archive


def add_notice_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="store a notice from a JSON file (as a draft)")
    create.add_argument("file", type=Path)
    preview = actions.add_parser("preview", help="audience size of a JSON file or a notice id")
    preview.add_argument("target", help="FILE.json or a notice id")
    schedule = actions.add_parser("schedule", help="schedule a notice (now, or --at)")
    schedule.add_argument("id", type=int)
    schedule.add_argument("--at", help="ISO date and time with offset, e.g. "
                          "2026-12-01T09:00:00+08:00")
    cancel = actions.add_parser("cancel", help="cancel a notice")
    cancel.add_argument("id", type=int)
    actions.add_parser("list", help="the newest notices")
    show = actions.add_parser("show", help="one notice with its audience size, deliveries "
                              "and sign-ups")
    show.add_argument("id", type=int)


def _print(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, default=json_default))


def _problems(where: str, problems: list[Problem], tr: Translator) -> int:
    for problem in problems:
        print(f"dxbot notice: {where}: {problem.render(tr)}", file=sys.stderr)
    return 2


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def run(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    return asyncio.run(_run(args, settings, tr))


async def _run(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    async with open_archive(settings.database_url) as sessions:
        return await _act(args, sessions, tr)


async def _act(args: argparse.Namespace, sessions: Sessions, tr: Translator) -> int:
    _ = tr.gettext
    reference = builtin_reference()
    max_level = len(builtin_sets()[DEFAULT_SET_ID].level_rules)
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    action = args.action
    if action in ("create", "preview") and not (action == "preview" and args.target.isdigit()):
        path = args.file if action == "create" else Path(args.target)
        try:
            raw = _read(path)
        except (OSError, ValueError) as exc:
            print("dxbot notice: " + _("{path}: cannot read a JSON notice ({reason})").format(
                path=path, reason=exc), file=sys.stderr)
            return 2
        spec = parse_notice(raw, reference, max_level=max_level)
        if isinstance(spec, list):
            return _problems(str(path), spec, tr)
        if action == "preview":
            _print({"audience_size": await notices.count_audience(sessions, spec.audience)})
            return 0
        created = await notices.create_notice(sessions, spec, now)
        _print(notice_view(created, await notices.count_audience(sessions, spec.audience)))
        return 0
    if action == "list":
        for listed in await notices.list_notices(sessions):
            _print(notice_view(listed))
        return 0
    notice_id = int(args.target) if action == "preview" else args.id
    stored = await notices.get_notice(sessions, notice_id)
    if stored is None:
        print("dxbot notice: " + _("there is no notice {id}").format(id=notice_id),
              file=sys.stderr)
        return 1
    if action == "show":
        _print(await notice_report(sessions, stored))
        return 0
    if action == "preview":
        size = await notices.count_audience(sessions, Audience.from_data(stored.audience))
        _print({"audience_size": size})
        return 0
    send_at = None
    if action == "schedule":
        send_at = now
        if args.at:
            try:
                send_at = datetime.fromisoformat(args.at)
            except ValueError:
                send_at = None
            if send_at is None or send_at.tzinfo is None:
                print("dxbot notice: " + _("--at: a date and time with its offset, such as "
                                           "2026-12-01T09:00:00+08:00"), file=sys.stderr)
                return 2
    try:
        changed = await notices.change_status(
            sessions, notice_id, "scheduled" if action == "schedule" else "cancelled", now,
            send_at=send_at)
    except notices.NoticeStateError:
        print("dxbot notice: " + _("The notice is {status} and cannot be changed that way.")
              .format(status=stored.status), file=sys.stderr)
        return 1
    _print(notice_view(changed))
    return 0
