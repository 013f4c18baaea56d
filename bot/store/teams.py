"""Teams in the store: name, namespace, Discord role and channel.

A team's runs and submissions are its history: a team that has any cannot be removed.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import UnknownTeam
from bot.i18n import Message
from bot.store.db import Database, utcnow
from bot.store.errors import InvalidValue, StoreConflict
from bot.store.models import TEAM_NAME_MAX, Run, Submission, Team
from bot.values import dns1123_label


class TeamStore:
    """The teams table, on the bot's `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, name: str, namespace: str, role_id: int | None = None, channel_id: int | None = None
    ) -> Team:
        """A new team; `StoreConflict` if the name, the namespace or the role is taken."""
        name = _team_name(name)
        _namespace(namespace)
        team = Team(
            name=name,
            namespace=namespace,
            discord_role_id=role_id,
            discord_channel_id=channel_id,
            created_at=utcnow(),
        )
        async with self._db.writing() as session:
            # Checked first for a clear message; the unique constraints still decide under races.
            if (await session.exec(select(Team).where(Team.name == name))).first() is not None:
                raise StoreConflict(
                    f"a team named {name!r} already exists", reason=Message("conflict.team_exists", {"team": name})
                )
            same_ns = (await session.exec(select(Team).where(Team.namespace == namespace))).first()
            if same_ns is not None:
                raise StoreConflict(
                    f"namespace {namespace!r} already belongs to team {same_ns.name!r}",
                    reason=Message("conflict.namespace_taken", {"namespace": namespace, "team": same_ns.name}),
                )
            await _check_role_free(session, role_id, name)
            session.add(team)
        return team

    async def get(self, name: str) -> Team | None:
        async with self._db.reading() as session:
            return (await session.exec(select(Team).where(Team.name == name.strip()))).first()

    async def get_by_id(self, team_id: int) -> Team | None:
        async with self._db.reading() as session:
            return await session.get(Team, team_id)

    async def get_by_role(self, role_id: int) -> Team | None:
        async with self._db.reading() as session:
            return (await session.exec(select(Team).where(Team.discord_role_id == role_id))).first()

    async def all(self) -> list[Team]:
        """Every team, by name."""
        async with self._db.reading() as session:
            return list(await session.exec(select(Team).order_by(col(Team.name))))

    async def remove(self, name: str) -> None:
        """Delete a team that has no history; runs and submissions are kept, so they block it."""
        name = name.strip()
        async with self._db.writing() as session:
            team = (await session.exec(select(Team).where(Team.name == name))).first()
            if team is None:
                raise UnknownTeam(name)
            run_ids = list(await session.exec(select(Run.id).where(Run.team_id == team.id).order_by(col(Run.id))))
            submissions = len(list(await session.exec(select(Submission.id).where(Submission.team_id == team.id))))
            if run_ids or submissions:
                held = []
                if run_ids:
                    held.append("runs " + ", ".join(f"#{i}" for i in run_ids))
                if submissions:
                    held.append(f"{submissions} submission(s)")
                raise StoreConflict(
                    f"team {name!r} has {' and '.join(held)}; they are kept as history, so the team cannot be removed",
                    reason=Message("conflict.team_has_history", {"team": name}),
                )
            await session.delete(team)

    async def link(self, name: str, role_id: int | None = None, channel_id: int | None = None) -> Team:
        """Set the team's Discord role and/or channel; an argument left at None is left unchanged."""
        name = name.strip()
        async with self._db.writing() as session:
            team = (await session.exec(select(Team).where(Team.name == name))).first()
            if team is None:
                raise UnknownTeam(name)
            await _check_role_free(session, role_id, name)
            if role_id is not None:
                team.discord_role_id = role_id
            if channel_id is not None:
                team.discord_channel_id = channel_id
            session.add(team)
        return team


async def _check_role_free(session: AsyncSession, role_id: int | None, team_name: str) -> None:
    if role_id is None:
        return
    holder = (await session.exec(select(Team).where(Team.discord_role_id == role_id))).first()
    if holder is not None and holder.name != team_name:
        raise StoreConflict(
            f"Discord role {role_id} is already linked to team {holder.name!r}",
            reason=Message("conflict.role_taken", {"role": role_id, "team": holder.name}),
        )


def _team_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= TEAM_NAME_MAX:
        raise InvalidValue("name", name, f"a team name has 1 to {TEAM_NAME_MAX} characters")
    if any(not c.isprintable() for c in name):
        raise InvalidValue("name", name, "a team name has no control characters")
    return name


def _namespace(namespace: str) -> None:
    try:
        dns1123_label(namespace)
    except ValueError as problem:
        raise InvalidValue("namespace", namespace, str(problem)) from None
