"""The bot's persistent state: teams, challenge runs, verifications, hints and submissions.

`Store` holds one store per aggregate (`store.teams`, `store.incidents`, …; one transaction per
method) over one `Database` (engine, sessions, write lock), `upgrade` migrates a database to the schema
the code expects, the models are SQLModel tables. SQLite by default (`sqlite_url`), any SQLAlchemy
async URL otherwise.
"""

from bot.store.db import Database, create_engine, mask_url, sqlite_file, sqlite_url
from bot.store.errors import InvalidValue, NotFound, StoreConflict
from bot.store.migrate import current_revision, downgrade, head_revision, upgrade
from bot.store.models import (
    AppliedObject,
    Award,
    Board,
    Evidence,
    Freeze,
    HintPost,
    HintSource,
    OutboxEntry,
    OutboxKind,
    Run,
    RunStatus,
    ScenarioState,
    ScenarioStatus,
    Submission,
    Team,
    Tick,
    UTCDateTime,
    Verification,
    VerificationTrigger,
)
from bot.store.runs import RunStore
from bot.store.store import Store
from bot.store.submissions import SubmissionStore
from bot.store.teams import TeamStore

__all__ = [
    "AppliedObject",
    "Award",
    "Board",
    "Database",
    "Evidence",
    "Freeze",
    "HintPost",
    "HintSource",
    "InvalidValue",
    "NotFound",
    "OutboxEntry",
    "OutboxKind",
    "Run",
    "RunStatus",
    "RunStore",
    "ScenarioState",
    "ScenarioStatus",
    "Store",
    "StoreConflict",
    "Submission",
    "SubmissionStore",
    "Team",
    "TeamStore",
    "Tick",
    "UTCDateTime",
    "Verification",
    "VerificationTrigger",
    "create_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "mask_url",
    "sqlite_file",
    "sqlite_url",
    "upgrade",
]
