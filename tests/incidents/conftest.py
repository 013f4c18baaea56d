"""Fixtures of the incident tests: the outbox on FakeDiscord (the notify tests' own), and team blue, whose
namespace the captured Alertmanager bodies are in."""

import pytest

from bot.store import Store, Team
from tests.notify.conftest import discord, make_outbox, outbox  # noqa: F401  (fixtures, registered by import)

#: The channel of team blue.
TEAM_CHANNEL = 2001


@pytest.fixture
async def blue(store: Store) -> Team:
    return await store.create_team("Blue Whales", "kubecamp-blue", role_id=1001, channel_id=TEAM_CHANNEL)
