"""What a user sent that cannot be accepted, as a value: a stable code plus a message to render."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.i18n import Translator


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input.

    `code` is stable for machines (API error codes, tests); `message` is a gettext message id with
    `{placeholders}` filled from `params`; `subject` names what is wrong (a question code or a
    figure name) so callers can point at it.
    """

    code: str
    message: str
    subject: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, tr: Translator) -> str:
        return tr.gettext(self.message).format(**self.params)
