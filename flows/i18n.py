"""Translated text for flows: callers pass a translator in, flows never reach for a global.

Message ids are English; the zh_CN catalog under `locales/` is the default language of the bot.
"""

from __future__ import annotations

from gettext import NullTranslations
from typing import TypeAlias

# babel.support.Translations (what bot/ loads) is a NullTranslations; tests may pass either.
Translator: TypeAlias = NullTranslations


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated later, when rendered."""
    return message


PLAIN = NullTranslations()
"""Untranslated (English) text: for logs and for tests that check structure, not wording."""
