"""Domain errors: each carries a sentence a technician can act on.

The UI shows ``str(error)``; it never re-checks the rule that raised it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class IdsError(Exception):
    """A refused action. The message is for the person at the workstation."""


class PermissionDenied(IdsError):
    """The acting user's role does not allow the action (21 CFR 11.10(d), (g))."""


class NotFound(IdsError):
    """A record named by the user does not exist."""


class InvalidInput(IdsError):
    """Input that cannot be recorded as given."""


class DatabaseProblem(IdsError):
    """The database cannot be opened, is not ours, or is from a newer version."""


class ConnectionLost(DatabaseProblem):
    """The database server could not be reached, or the connection dropped mid-action.

    Nothing of the action was saved (it was one transaction), so trying again is safe.
    """


class RecordedRefusal(IdsError):
    """A refusal that is itself part of the record.

    Failed sign-ins and failed signature attempts must be kept (21 CFR 11.300) even
    though the action they belonged to is rolled back. The unit of work rolls the
    action back, then calls :meth:`record` in a fresh transaction and commits it.
    """

    def record(self, session: Session) -> None:
        raise NotImplementedError
