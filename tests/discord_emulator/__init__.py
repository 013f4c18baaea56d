"""Test-side Discord: REST + gateway on 127.0.0.1 that an unmodified discord.py client connects to.

See ``emulator.DiscordEmulator`` for the entry point and ``fixtures`` for the pytest plugin
(``discord_emulator``, ``discord_classroom``, ``discord_endpoints``, ``patch_discord_endpoints``,
``running_client``).
"""

from .core import ApiError, Clock, Intents, Permissions
from .emulator import DiscordEmulator
from .interactions import InteractionRecord
from .ratelimit import Fault
from .rest import RecordedRequest
from .state import Attachment, Channel, Guild, Member, Message, Overwrite, Role, User

__all__ = [
    "ApiError",
    "Attachment",
    "Channel",
    "Clock",
    "DiscordEmulator",
    "Fault",
    "Guild",
    "Intents",
    "InteractionRecord",
    "Member",
    "Message",
    "Overwrite",
    "Permissions",
    "RecordedRequest",
    "Role",
    "User",
]
