"""The owners' report: a page (`/r/<token>`) every result links to, and its PDF, served by the
bot itself."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"  # every asset the page needs
