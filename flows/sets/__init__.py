"""Indicator sets shipped with the bot, one JSON file each."""
