"""Loads the gettext catalogs under `locales/`, compiling the .po files in memory at start-up.

Only .po sources are kept in the repository; compiling here means a fresh clone needs no build
step and can never run with a stale .mo.
"""

from __future__ import annotations

import functools
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from flows.i18n import Translator

DOMAIN = "dxbot"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


@functools.cache
def translator(locale: str = DEFAULT_LOCALE) -> Translator:
    """The catalog for `locale`; English message ids are the fallback for missing entries."""
    if locale not in SUPPORTED:
        raise ValueError(f"unsupported locale {locale!r}; supported: {', '.join(SUPPORTED)}")
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
