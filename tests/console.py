"""Runs the real `dxbot` console command in a subprocess, with a SQLite file in a fresh data
directory and none of the caller's DXBOT_* settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def dxbot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DXBOT_")}
    env.update({"DXBOT_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(PROJECT_ROOT)})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
