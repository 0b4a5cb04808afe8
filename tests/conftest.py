"""Shared pytest configuration: fixture plugins."""

pytest_plugins = ["tests.redis_fixtures", "tests.db_fixtures", "tests.app_fixtures"]
