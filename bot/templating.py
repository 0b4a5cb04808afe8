"""The bot's server-rendered pages: Jinja2 environments (autoescaped, strict about missing
values, worded through the gettext catalogs: `{{ _("…") }}`, newstyle `%(name)s` placeholders),
one per language, and the headers every page goes out with."""

from __future__ import annotations

from pathlib import Path

import jinja2

from bot.translations import SUPPORTED, translator
from flows.i18n import Translator


def environment(directory: Path, tr: Translator) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory), autoescape=True,
        extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True,
        auto_reload=False, undefined=jinja2.StrictUndefined)
    env.install_gettext_translations(tr, newstyle=True)  # type: ignore[attr-defined]
    return env


class Templates:
    """The templates of `directory` in every supported language."""

    def __init__(self, directory: Path) -> None:
        self._envs = {locale: environment(directory, translator(locale))
                      for locale in SUPPORTED}

    def render(self, template: str, locale: str, **values: object) -> str:
        """`template` in `locale`, with `lang` (the page's HTML language) set."""
        return self._envs[locale].get_template(template).render(
            lang="zh-CN" if locale == "zh_CN" else locale, **values)


def page_headers(*, forms: bool) -> dict[str, str]:
    """Nothing but the bot's own stylesheets and inline SVG, no scripts, no framing, nothing
    kept or passed on (tokens are in the URLs); `forms`: the page posts forms to the bot."""
    form_action = "'self'" if forms else "'none'"
    return {
        "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                   f"base-uri 'none'; form-action {form_action}; "
                                   "frame-ancestors 'none'",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, no-store",
        "X-Robots-Tag": "noindex, nofollow",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }
