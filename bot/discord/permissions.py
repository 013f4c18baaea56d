"""Who is an instructor: a member with the configured role, given by id or by exact name."""

from __future__ import annotations

import discord


def is_instructor(member: discord.abc.User, instructor_role: str) -> bool:
    if not isinstance(member, discord.Member):
        return False  # outside a guild nobody is an instructor
    wanted = instructor_role.strip()
    return any(str(role.id) == wanted or role.name == wanted for role in member.roles)
