"""The web console under `/console`: commissioners' and the province's desk work in a browser,
on the admin API's roles and scopes, rendered on the server."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
