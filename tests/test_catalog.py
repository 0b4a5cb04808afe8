"""The zh_CN catalog covers every message the code can show, with the same placeholders."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "flows", "storage")
PO_FILE = PROJECT_ROOT / "locales" / "zh_CN" / "LC_MESSAGES" / "dxbot.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "tr": None}


def extract() -> dict[str, list[str]]:
    """Every message id in the code, with where it occurs (for failure messages)."""
    with (PROJECT_ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for directory in SOURCE_DIRS:
        base = PROJECT_ROOT / directory
        if not base.is_dir():
            continue
        for filename, lineno, message, _comments, _context in extract_from_dir(
                base, method_map, options_map, keywords=KEYWORDS):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    found.setdefault(msgid, []).append(f"{directory}/{filename}:{lineno}")
    return found


MESSAGES = extract()


def placeholders(text: str) -> set[str]:
    """The `{names}` str.format fills in; `{{` and `}}` are literal braces."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with PO_FILE.open("rb") as po:
        return read_po(po, locale="zh_CN", domain="dxbot")


def test_extraction_finds_the_known_messages() -> None:
    # guards the extractor set-up itself: N_() in flows, _() in bot
    assert "{code}: not answered" in MESSAGES
    assert "Bring the scene 「{name}」 to level {level}: {action}" in MESSAGES
    assert "cannot read the file: {reason}" in MESSAGES
    assert len(MESSAGES) >= 25


@pytest.mark.parametrize("msgid", sorted(MESSAGES),
                         ids=[" ".join(m.split())[:70] for m in sorted(MESSAGES)])
def test_message_translated(catalog: Catalog, msgid: str) -> None:
    message = catalog.get(msgid)
    where = ", ".join(MESSAGES[msgid])
    assert message is not None, f"not in {PO_FILE.name}: {msgid!r} ({where})"
    assert not message.fuzzy, f"fuzzy, so not used: {msgid!r} ({where})"
    translations = message.string if isinstance(message.string, tuple) else (message.string,)
    for text in translations:
        assert text.strip(), f"empty translation: {msgid!r} ({where})"
        assert placeholders(text) == placeholders(msgid), (
            f"placeholders differ: {msgid!r} -> {text!r}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{code}: not answered", {"code"}),
        ("expected {{question code: answer}}", set()),
        ("{a} and {b!r} and {c:>3}", {"a", "b", "c"}),
        ("no placeholders", set()),
    ],
)
def test_placeholders(text: str, expected: set[str]) -> None:
    assert placeholders(text) == expected
