"""Imports point inward: `bot/` may use `flows/` and `storage/`, `storage/` may use `flows/`,
and `flows/`, the pure core, uses neither, nor anything that does I/O or reads a clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What the pure core may never import: the shell, storage, and the I/O and clock libraries.
NOT_IN_FLOWS = ("bot", "storage", "aiohttp", "redis", "sqlalchemy", "alembic", "asyncio",
                "socket", "time", "os", "subprocess", "wechatpy", "openpyxl", "uuid", "random",
                "secrets")
NOT_IN_STORAGE = ("bot",)


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in sorted(imported(path)):
            if name.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize(("package", "forbidden"), [("flows", NOT_IN_FLOWS),
                                                    ("storage", NOT_IN_STORAGE)])
def test_imports_point_inward(package: str, forbidden: tuple[str, ...]) -> None:
    assert offending(package, forbidden) == []


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from bot.app import build_app\n    import time\n")
    assert imported(module) == {"bot.app", "time"}
