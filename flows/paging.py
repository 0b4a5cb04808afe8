"""Fitting replies into WeChat's text reply limit (2048 bytes of UTF-8) without cutting a character.

A passive reply is one message, so longer content is cut into pages at line boundaries; the
conversation keeps the rest and sends it when the person asks for more.
"""

from __future__ import annotations

TEXT_REPLY_LIMIT = 2048


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _split_line(line: str, limit: int) -> list[str]:
    """A single line longer than `limit` bytes, cut at character boundaries."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = _size(char)
        if size + width > limit and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        pieces.append("".join(current))
    return pieces


def paginate(text: str, more_hint: str, limit: int = TEXT_REPLY_LIMIT) -> list[str]:
    """Pages of at most `limit` bytes each; every page but the last ends with `more_hint`."""
    if _size(text) <= limit:
        return [text]
    room = limit - _size("\n" + more_hint)
    pages: list[str] = []
    current: list[str] = []
    size = 0
    for line in (piece for raw in text.split("\n") for piece in _split_line(raw, room) or [""]):
        width = _size(line) + (1 if current else 0)
        if current and size + width > room:
            pages.append("\n".join(current))
            current, size = [], 0
            width = _size(line)
        current.append(line)
        size += width
    if current:
        pages.append("\n".join(current))
    return [page + "\n" + more_hint for page in pages[:-1]] + pages[-1:]
