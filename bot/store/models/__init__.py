"""The tables: teams, challenge runs, scenario states, verifications, hint posts and submissions.

Conventions:

* Every timestamp is a timezone-aware UTC `datetime` (`UTCDateTime`); a naive one is refused on
  write rather than guessed at.
* Statuses are `StrEnum`s stored as short strings with a named CHECK constraint (no native database
  enum types, so that adding a value is an ordinary migration on every backend).
* Constraint and index names come from `NAMING_CONVENTION`, set on `SQLModel.metadata` before any
  table is declared, so that migrations can address them by name (SQLite batch mode needs names).
* Primary keys are typed `int`, not `int | None`: they are None only on an instance not yet
  inserted, and the store never hands out such an instance.
* There are no ORM relationships: the stores return detached rows and load what they need with
  explicit queries, so nothing lazy-loads after the session has closed.
"""

from __future__ import annotations

from bot.store.models.classroom import ACTIVE_RUN_INDEX as ACTIVE_RUN_INDEX
from bot.store.models.classroom import AppliedObject as AppliedObject
from bot.store.models.classroom import Award as Award
from bot.store.models.classroom import Board as Board
from bot.store.models.classroom import Evidence as Evidence
from bot.store.models.classroom import Freeze as Freeze
from bot.store.models.classroom import HintPost as HintPost
from bot.store.models.classroom import HintSource as HintSource
from bot.store.models.classroom import Run as Run
from bot.store.models.classroom import RunStatus as RunStatus
from bot.store.models.classroom import ScenarioState as ScenarioState
from bot.store.models.classroom import ScenarioStatus as ScenarioStatus
from bot.store.models.classroom import Submission as Submission
from bot.store.models.classroom import Team as Team
from bot.store.models.classroom import Tick as Tick
from bot.store.models.classroom import Verification as Verification
from bot.store.models.classroom import VerificationTrigger as VerificationTrigger
from bot.store.models.columns import NAMESPACE_MAX as NAMESPACE_MAX
from bot.store.models.columns import NAMING_CONVENTION as NAMING_CONVENTION
from bot.store.models.columns import TEAM_NAME_MAX as TEAM_NAME_MAX
from bot.store.models.columns import UTCDateTime as UTCDateTime
from bot.store.models.incidents import OPEN_INCIDENT_INDEX as OPEN_INCIDENT_INDEX
from bot.store.models.incidents import AlertStatus as AlertStatus
from bot.store.models.incidents import Incident as Incident
from bot.store.models.incidents import IncidentAlert as IncidentAlert
from bot.store.models.incidents import IncidentStatus as IncidentStatus
from bot.store.models.outbox import OUTBOX_KEY_MAX as OUTBOX_KEY_MAX
from bot.store.models.outbox import OUTBOX_UNSENT_INDEX as OUTBOX_UNSENT_INDEX
from bot.store.models.outbox import OutboxEntry as OutboxEntry
from bot.store.models.outbox import OutboxKind as OutboxKind
