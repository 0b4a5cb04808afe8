"""Settings loading: defaults, accepted forms, rejected values, .env precedence, secret masking."""

from __future__ import annotations

import os
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

AES_KEY = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123+/9"  # 43 chars of the base64 alphabet


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Relative defaults (./data, ./.env) resolve against the cwd; keep them inside tmp_path.
    monkeypatch.chdir(tmp_path)


def load(**env: str) -> Settings:
    return load_settings({f"DXBOT_{k}": v for k, v in env.items()}, env_file=None)


# --- defaults ---


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("redis_url", None),
        ("wechat_token", ""),
        ("wechat_appid", ""),
        ("wechat_secret", ""),
        ("wechat_aes_key", None),
        ("wechat_api_base", "https://api.weixin.qq.com"),
        ("miniapp_appid", ""),
        ("miniapp_secret", ""),
        ("admin_token", ""),
        ("host", "127.0.0.1"),
        ("port", 8080),
        ("locale", "zh_CN"),
    ],
)
def test_default(field: str, expected: object) -> None:
    assert getattr(load(), field) == expected


def test_default_paths_are_absolute_under_cwd(tmp_path: Path) -> None:
    s = load()
    assert s.data_dir == tmp_path.resolve() / "data"
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'data' / 'dxbot.sqlite3'}"


def test_default_database_follows_data_dir(tmp_path: Path) -> None:
    s = load(DATA_DIR="var/state")
    assert s.data_dir == tmp_path.resolve() / "var" / "state"
    assert s.database_url.endswith("/var/state/dxbot.sqlite3")


@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_value_means_default(empty: str) -> None:
    s = load(PORT=empty, LOCALE=empty, REDIS_URL=empty, WECHAT_AES_KEY=empty)
    assert (s.port, s.locale, s.redis_url, s.wechat_aes_key) == (8080, "zh_CN", None, None)


def test_settings_are_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        load().port = 1  # type: ignore[misc]


# --- accepted values ---


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "postgresql://u:p@db:5432/x", "postgresql+asyncpg://u:p@db:5432/x"),
        ("DATABASE_URL", "postgres://db/x", "postgresql+asyncpg://db/x"),
        ("DATABASE_URL", "postgresql+asyncpg://db/x", "postgresql+asyncpg://db/x"),
        ("DATABASE_URL", "sqlite+aiosqlite:////srv/bot.db", "sqlite+aiosqlite:////srv/bot.db"),
        ("REDIS_URL", "redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/15"),
        ("REDIS_URL", "rediss://:pw@cache:6380/0", "rediss://:pw@cache:6380/0"),
        ("REDIS_URL", "unix:///run/redis.sock?db=2", "unix:///run/redis.sock?db=2"),
        ("WECHAT_TOKEN", "tok", "tok"),
        ("WECHAT_APPID", "wx1", "wx1"),
        ("WECHAT_SECRET", "sec", "sec"),
        ("WECHAT_AES_KEY", AES_KEY, AES_KEY),
        ("WECHAT_AES_KEY", f"  {AES_KEY}\n", AES_KEY),
        ("WECHAT_API_BASE", "http://mock:9000/", "http://mock:9000"),
        ("WECHAT_API_BASE", "https://proxy.example/wx//", "https://proxy.example/wx"),
        ("MINIAPP_APPID", "wx2", "wx2"),
        ("MINIAPP_SECRET", "msec", "msec"),
        ("ADMIN_TOKEN", "x" * 16, "x" * 16),
        ("HOST", "0.0.0.0", "0.0.0.0"),
        ("PORT", "1", 1),
        ("PORT", "65535", 65535),
        ("MP_RATE_LIMIT", "600", 600),
        ("NOTICE_WORKER", "off", False),
        ("NOTICE_RESEND_UNKNOWN", "false", False),
        ("NOTICE_STALE_SECONDS", "5", 5),
        ("NOTICE_CONCURRENCY", "64", 64),
        ("NOTICE_RATE", "0", 0),
        ("NOTICE_RATE", "400", 400),
        ("NOTICE_REMIND_SECONDS", "0", 0),
        ("NOTICE_REMIND_SECONDS", "7200", 7200),
        ("NOTICE_PAUSE_SECONDS", "600", 600),
        ("WORKER_HEALTH_PORT", "0", 0),
        ("WORKER_HEALTH_PORT", "8081", 8081),
        ("LOCALE", "en", "en"),
    ],
)
def test_accepted(name: str, value: str, expected: object) -> None:
    assert getattr(load(**{name: value}), name.lower()) == expected


# --- rejected values ---


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql+aiomysql://db/x", "unsupported scheme 'mysql+aiomysql'"),
        ("DATABASE_URL", "sqlite:///x.db", "unsupported scheme 'sqlite'"),
        ("DATABASE_URL", "postgresql+psycopg://db/x", "unsupported scheme 'postgresql+psycopg'"),
        ("DATABASE_URL", "not a url", "not a valid database URL"),
        ("DATABASE_URL", "postgresql://u:secret@db:port/x", "not a valid database URL"),
        ("DATABASE_URL", "postgresql://db:70000/x", "port must be between 1 and 65535"),
        ("REDIS_URL", "http://cache:6379", "unsupported scheme 'http'"),
        ("REDIS_URL", "localhost:6379", "unsupported scheme 'localhost'"),
        ("REDIS_URL", "redis://cache:abc/0", "not a valid Redis URL"),
        (
            "WECHAT_AES_KEY",
            "abcdefghijkl",
            "must be 43 characters (EncodingAESKey from the WeChat console), got 12",
        ),
        ("WECHAT_AES_KEY", AES_KEY + "=", "must be 43 characters"),
        ("WECHAT_AES_KEY", AES_KEY[:-1] + "-", "must contain only A-Z, a-z, 0-9, '+' and '/'"),
        ("WECHAT_AES_KEY", AES_KEY[:-1] + "=", "must contain only"),
        ("WECHAT_API_BASE", "api.weixin.qq.com", "must be an http(s) URL with a host"),
        ("WECHAT_API_BASE", "ftp://api.weixin.qq.com", "must be an http(s) URL with a host"),
        ("WECHAT_API_BASE", "https://", "must be an http(s) URL with a host"),
        ("WECHAT_API_BASE", "https://api.weixin.qq.com?x=1", "must not have a query"),
        ("ADMIN_TOKEN", "short-token", "must be at least 16 characters, got 11"),
        ("PORT", "0", "must be an integer between 1 and 65535, got '0'"),
        ("PORT", "65536", "must be an integer between 1 and 65535"),
        ("MP_RATE_LIMIT", "0", "must be a whole number of requests per minute"),
        ("NOTICE_WORKER", "maybe", "must be true or false"),
        ("NOTICE_STALE_SECONDS", "0", "must be a whole number of seconds"),
        ("NOTICE_CONCURRENCY", "0", "must be a whole number from 1 to 256, got '0'"),
        ("NOTICE_CONCURRENCY", "1000", "must be a whole number from 1 to 256"),
        ("NOTICE_RATE", "-5", "must be a whole number from 0 to 99999, got '-5'"),
        ("NOTICE_RATE", "fast", "must be a whole number from 0 to 99999"),
        ("NOTICE_REMIND_SECONDS", "1.5", "must be a whole number from 0 to 2592000"),
        ("NOTICE_PAUSE_SECONDS", "0", "must be a whole number of seconds"),
        ("WORKER_HEALTH_PORT", "65536", "must be a whole number from 0 to 65535"),
        ("MP_RATE_LIMIT", "lots", "must be a whole number of requests per minute"),
        ("PORT", "-1", "must be an integer between 1 and 65535"),
        ("PORT", "http", "must be an integer between 1 and 65535, got 'http'"),
        ("PORT", "8_080", "must be an integer between 1 and 65535"),
        ("PORT", "80.0", "must be an integer between 1 and 65535"),
        ("LOCALE", "fr", "must be one of zh_CN, en, got 'fr'"),
        ("LOCALE", "zh-CN", "must be one of zh_CN, en"),
    ],
)
def test_rejected(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(**{name: value})
    text = str(info.value)
    assert text.startswith(f"DXBOT_{name}: ")
    assert message in text
    assert "\n" not in text
    assert info.value.variable == f"DXBOT_{name}"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "postgresql://u:hunter2@db:port/x"),
        ("ADMIN_TOKEN", "hunter2"),
        ("WECHAT_AES_KEY", "hunter2"),
        ("WECHAT_AES_KEY", AES_KEY[:-7] + "hunter2"[:6] + "!"),
    ],
)
def test_errors_do_not_echo_secrets(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(**{name: value})
    assert "hunter" not in str(info.value)


# --- .env file ---


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text(
        "# comment\n"
        "DXBOT_PORT=9000\n"
        "DXBOT_LOCALE=en\n"
        "export DXBOT_HOST=0.0.0.0\n"
        "DXBOT_WECHAT_SECRET='quoted secret'\n"
        "DXBOT_ADMIN_TOKEN=${NOT_INTERPOLATED_0123}\n",
        encoding="utf-8",
    )
    s = load_settings({"DXBOT_PORT": "9100"}, env_file=env_file)
    assert s.port == 9100  # environment over file
    assert s.locale == "en"
    assert s.host == "0.0.0.0"
    assert s.wechat_secret == "quoted secret"
    assert s.admin_token == "${NOT_INTERPOLATED_0123}"


def test_empty_environment_value_still_wins_over_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DXBOT_PORT=9000\n", encoding="utf-8")
    assert load_settings({"DXBOT_PORT": ""}, env_file=tmp_path / ".env").port == 8080


def test_default_env_file_is_dotenv_in_cwd(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DXBOT_LOCALE=en\nDXBOT_PORT=7000\n", encoding="utf-8")
    s = load_settings({})
    assert (s.locale, s.port) == ("en", 7000)


def test_env_file_none_or_missing_is_ignored(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DXBOT_LOCALE=en\n", encoding="utf-8")
    assert load_settings({}, env_file=None).locale == "zh_CN"
    assert load_settings({}, env_file=tmp_path / "absent.env").locale == "zh_CN"


def test_invalid_value_in_env_file_names_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DXBOT_PORT=eighty\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^DXBOT_PORT: "):
        load_settings({})


def test_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("DXBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DXBOT_PORT", "8123")
    assert load_settings(env_file=None).port == 8123


# --- repr ---


def test_repr_masks_secrets() -> None:
    s = load(
        WECHAT_TOKEN="tok-aaaaaaaa",
        WECHAT_SECRET="sec-bbbbbbbb",
        WECHAT_AES_KEY=AES_KEY,
        MINIAPP_SECRET="sec-cccccccc",
        ADMIN_TOKEN="adm-dddddddddddddddd",
        DATABASE_URL="postgresql://bot:db-pass-eeee@db/x",
        REDIS_URL="redis://user:redis-pass-ffff@cache:6379/0",
        WECHAT_APPID="wx-public-appid",
    )
    text = repr(s)
    secrets = ("tok-aaaa", "sec-bbbb", AES_KEY, "sec-cccc", "adm-dddd", "db-pass", "redis-pass")
    for secret in secrets:
        assert secret not in text
    assert "wechat_secret='***'" in text
    assert "wechat_aes_key='***'" in text
    assert "postgresql+asyncpg://bot:***@db/x" in text
    assert "redis://user:***@cache:6379/0" in text
    assert "wx-public-appid" in text  # non-secrets stay readable
    assert str(s) == text


def test_repr_shows_unset_secrets_as_unset() -> None:
    text = repr(load())
    assert "wechat_secret=''" in text
    assert "wechat_aes_key=None" in text
    assert "redis_url=None" in text
