"""A WeChat Token for local use when none is configured, shared by `dxbot serve` and `dxbot chat`.

An empty Token would make every signature trivially forgeable, so instead a random one is made
once and kept in the data directory, readable only by its owner.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

from bot.config import Settings

TOKEN_FILE = "dev-wechat-token"


def with_wechat_token(settings: Settings) -> tuple[Settings, Path | None]:
    """`settings` with a Token; the file it came from when it was generated for local use."""
    if settings.wechat_token:
        return settings, None
    path = settings.data_dir / TOKEN_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24))
    token = path.read_text().strip()
    return dataclasses.replace(settings, wechat_token=token), path
