"""The bot's persistent state: teams, challenge runs, verifications, hints and submissions.

`Store` is the repository (one transaction per method), `upgrade` migrates a database to the schema
the code expects, the models are SQLModel tables. SQLite by default (`sqlite_url`), any SQLAlchemy
async URL otherwise.
"""

from bot.store.db import create_engine, mask_url, sqlite_url
from bot.store.errors import InvalidValue, NotFound, StoreConflict
from bot.store.migrate import current_revision, downgrade, head_revision, upgrade
from bot.store.models import (
    AppliedObject,
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
    UTCDateTime,
    Verification,
    VerificationTrigger,
)
from bot.store.repository import OutboxDelivery, Store

__all__ = [
    "AppliedObject",
    "HintPost",
    "HintSource",
    "InvalidValue",
    "NotFound",
    "OutboxDelivery",
    "OutboxEntry",
    "OutboxKind",
    "Run",
    "RunStatus",
    "ScenarioState",
    "ScenarioStatus",
    "Store",
    "StoreConflict",
    "Submission",
    "Team",
    "UTCDateTime",
    "Verification",
    "VerificationTrigger",
    "create_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "mask_url",
    "sqlite_url",
    "upgrade",
]
