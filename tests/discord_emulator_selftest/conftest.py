"""The emulator's fixtures for its own tests (pytest forbids ``pytest_plugins`` outside the root conftest)."""

from tests.discord_emulator.fixtures import (  # noqa: F401  (imported fixtures are registered here)
    discord_classroom,
    discord_client_errors,
    discord_emulator,
    discord_endpoints,
)
