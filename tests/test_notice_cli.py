"""`dxbot notice` end to end: the real console command in a subprocess, on a SQLite file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests import console

pytestmark = pytest.mark.slow  # a `dxbot notice` process per command

NOTICE = {"kind": "training", "title": "数字化普及培训", "body": "面向企业负责人。",
          "starts_at": "2026-12-10T09:00:00+08:00", "audience": {"cities": ["济南市"]}}


def dxbot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return console.dxbot(tmp_path, "notice", *args)


def out(run: subprocess.CompletedProcess[str]) -> Any:
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[0])


def test_the_notice_lifecycle_from_the_terminal(tmp_path: Path) -> None:
    (tmp_path / "n.json").write_text(json.dumps(NOTICE, ensure_ascii=False), encoding="utf-8")
    created = out(dxbot(tmp_path, "create", "n.json"))
    assert created["status"] == "draft" and created["audience_size"] == 0
    assert out(dxbot(tmp_path, "preview", "n.json")) == {"audience_size": 0}
    assert out(dxbot(tmp_path, "preview", str(created["id"]))) == {"audience_size": 0}
    scheduled = out(dxbot(tmp_path, "schedule", str(created["id"]), "--at",
                          "2026-12-01T09:00:00+08:00"))
    assert scheduled["send_at"] == "2026-12-01T01:00:00+00:00"
    assert out(dxbot(tmp_path, "cancel", str(created["id"])))["status"] == "cancelled"
    again = dxbot(tmp_path, "cancel", str(created["id"]))
    assert again.returncode == 1 and "cancelled" in again.stderr
    assert out(dxbot(tmp_path, "list"))["id"] == created["id"]
    missing = dxbot(tmp_path, "show", "99")
    assert missing.returncode == 1 and "99" in missing.stderr


def test_a_bad_notice_file_names_every_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"kind": "party", "title": "x"}', encoding="utf-8")
    run = dxbot(tmp_path, "create", "bad.json")
    assert run.returncode == 2 and run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 3 and all(line.startswith("dxbot notice: bad.json: ") for line in lines)
    assert any("kind" in line for line in lines) and any("body" in line for line in lines)
    unreadable = dxbot(tmp_path, "create", "nope.json")
    assert unreadable.returncode == 2 and "nope.json" in unreadable.stderr
    assert dxbot(tmp_path, "schedule", "1", "--at", "soon").returncode == 1  # no notice 1
