"""Where discord.py connects: Discord itself, or a REST proxy / gateway set in the settings."""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl


def point_at(*, api_base: str | None, gateway_url: str | None) -> None:
    """discord.py reads these two class attributes for every request and every (re)connect.

    Set once at start-up, before the client logs in. A non-sharded client never asks /gateway/bot,
    so the gateway URL is used as given (discord.py appends the version and encoding).
    """
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
