"""Jinja2 for the bot's server-rendered pages: autoescaped, strict about missing values, and
worded through the gettext catalogs (`{{ _("…") }}`, newstyle: `%(name)s` placeholders)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from flows.i18n import Translator


def environment(directory: Path, tr: Translator) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory), autoescape=True,
        extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True,
        auto_reload=False, undefined=jinja2.StrictUndefined)
    env.install_gettext_translations(tr, newstyle=True)  # type: ignore[attr-defined]
    return env
