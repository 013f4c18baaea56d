"""The live class fixture for the Discord tests."""

from tests.discord.live import live_class  # noqa: F401  (a fixture, registered by import)
