"""Who is an instructor: a member with the configured role, known by its id.

Never by name: anyone who may create roles can make one named like the instructors' role, or named
with its id, and in another server everybody may. A role id is unique across Discord.
"""

from __future__ import annotations

import discord


def is_instructor(member: discord.abc.User, instructor_role: int) -> bool:
    if not isinstance(member, discord.Member):
        return False  # outside a guild nobody is an instructor
    return any(role.id == instructor_role for role in member.roles)
