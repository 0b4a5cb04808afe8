"""The `dxbot` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.translations import translator
from flows.indicators import DEFAULT_SET_ID, IndicatorSetError, builtin_sets

log = logging.getLogger("dxbot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dxbot", description="SME digital-level assessment bot for WeChat.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the bot (WeChat callback at /wechat)")
    serve.add_argument("--host", help="address to listen on (default DXBOT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default DXBOT_PORT or 8080)")
    commands.add_parser("migrate", help="create or upgrade the database schema")
    chat = commands.add_parser(
        "chat", help="talk to a running `dxbot serve` from the terminal, as WeChat would")
    from bot.devtools.chat_client import add_chat_arguments

    add_chat_arguments(chat)
    score = commands.add_parser(
        "score", help="score answer files offline and print one JSON result per file")
    score.add_argument("files", nargs="+", type=Path, metavar="FILE")
    worker = commands.add_parser("worker", help="send notices (when DXBOT_NOTICE_WORKER is "
                                 "off in serve, or on more machines)")
    worker.add_argument("--check", action="store_true",
                        help="check once that Redis and the database answer, print a line for "
                        "each, exit 0 when both do (for a container's health check)")
    worker.add_argument("--health-port", type=int, metavar="PORT",
                        help="serve /healthz and /readyz on this port while running (default "
                        "DXBOT_WORKER_HEALTH_PORT; 0: none)")
    notice = commands.add_parser("notice", help="create, preview, schedule, cancel and list "
                                 "training and event notices")
    from bot.cli.notice import add_notice_arguments

    add_notice_arguments(notice)
    enterprises = commands.add_parser("enterprises", help="the roster of enterprises to "
                                      "transform: import a CSV or Excel file")
    from bot.cli.roster import add_enterprise_arguments

    add_enterprise_arguments(enterprises)
    pool = commands.add_parser("solutions", help="the province's solution pool: import a CSV "
                               "or Excel file of solutions and their providers")
    from bot.cli.solutions import add_solution_arguments

    add_solution_arguments(pool)
    commissioner = commands.add_parser("commissioner", help="register digital commissioners "
                                       "and issue their binding codes")
    from bot.cli.commissioner import add_commissioner_arguments

    add_commissioner_arguments(commissioner)
    tokens = commands.add_parser("token", help="bearer tokens for the admin API (province "
                                 "admins, commissioners)")
    from bot.cli.token import add_token_arguments

    add_token_arguments(tokens)
    export = commands.add_parser("export", help="the enterprises of the province or an area, "
                                 "with statistics, as an Excel workbook")
    from bot.cli.export import add_export_arguments

    add_export_arguments(export)
    report = commands.add_parser("report", help="one submission's self-assessment report as a "
                                 "PDF, or revoke the links to its page")
    from bot.cli.report import add_report_arguments

    add_report_arguments(report)
    console_link = commands.add_parser("console-link", help="a one-time sign-in link to the "
                                       "web console (/console)")
    from bot.cli.console_link import add_console_link_arguments

    add_console_link_arguments(console_link)
    fake = commands.add_parser(
        "fake-wechat", help="run a fake of the WeChat API for tests and benchmarks")
    fake.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    fake.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    fake.add_argument("--app", action="append", default=[], metavar="APPID:SECRET",
                      help="register an app at start (repeatable; or POST /_fake/apps)")
    fake.add_argument("--grace-seconds", type=float, default=300.0,
                      help="how long a superseded access token keeps working (default 300)")
    fake.add_argument("--token-ttl", type=float, default=7200.0,
                      help="access token lifetime in seconds (default 7200)")
    return parser


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"dxbot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "fake-wechat":  # needs no settings
        from bot.devtools.fake_wechat import run

        try:
            run(args.host, args.port, apps=args.app, grace_seconds=args.grace_seconds,
                token_ttl=args.token_ttl)
        except ValueError as exc:
            print(f"dxbot: fake-wechat: {exc}", file=sys.stderr)
            return 2
        return 0
    settings = _settings()
    try:
        sets = builtin_sets()
    except IndicatorSetError as exc:
        print(f"dxbot: indicator data: {exc}", file=sys.stderr)
        return 1
    if args.command == "score":
        from bot.cli import score

        return score.run(args.files, sets, translator(settings.locale))
    if args.command == "worker":
        from bot.cli import worker

        if args.health_port is not None:
            settings = dataclasses.replace(settings, worker_health_port=args.health_port)
        return worker.run(settings, check=args.check)
    if args.command == "notice":
        from bot.cli import notice

        return notice.run(args, settings, translator(settings.locale))
    if args.command == "enterprises":
        from bot.cli import roster

        return roster.run(args, settings, translator(settings.locale))
    if args.command == "solutions":
        from bot.cli import solutions

        return solutions.run(args, settings, sets[DEFAULT_SET_ID], translator(settings.locale))
    if args.command == "commissioner":
        from bot.cli import commissioner

        return commissioner.run(args, settings, translator(settings.locale))
    if args.command == "token":
        from bot.cli import token

        return token.run(args, settings, translator(settings.locale))
    if args.command == "export":
        from bot.cli import export

        return export.run(args, settings, sets[DEFAULT_SET_ID],
                                  translator(settings.locale))
    if args.command == "console-link":
        from bot.cli import console_link

        return console_link.run(args, settings, translator(settings.locale))
    if args.command == "report":
        from bot.cli import report
        from flows.profile import builtin_reference
        from flows.state import Context

        tr = translator(settings.locale)
        return report.run(args, settings, Context(
            sets=sets, default_set=DEFAULT_SET_ID, reference=builtin_reference(), tr=tr), tr)
    if args.command == "migrate":
        from storage.db import migrate

        asyncio.run(migrate(settings.database_url))
        print("dxbot: database schema is up to date")
        return 0
    from bot.cli.dev_token import with_wechat_token

    settings, token_file = with_wechat_token(settings)
    if args.command == "serve":
        from bot.app import serve

        if args.host:
            settings = dataclasses.replace(settings, host=args.host)
        if args.port:
            settings = dataclasses.replace(settings, port=args.port)
        if token_file is not None:
            print(f"dxbot: DXBOT_WECHAT_TOKEN is not set; using a local token kept in "
                  f"{token_file} (set the Official Account's Token for real use)",
                  file=sys.stderr)
        serve(settings)
        return 0
    if args.command == "chat":
        from bot.devtools.chat_client import chat_main

        return chat_main(args, settings)
    raise AssertionError(args.command)  # argparse only lets known commands through


if __name__ == "__main__":
    raise SystemExit(main())
