"""Every table of the app, imported in one place so Alembic and the sessions see them all."""

from ids_app.audit import trail as _trail  # noqa: F401 (installs the audit listeners)
from ids_app.audit.models import AuditChainHead, AuditEntry
from ids_app.db import Base
from ids_app.inventory import authorizations as _authorizations  # noqa: F401
from ids_app.inventory import models as _inventory  # noqa: F401
from ids_app.monitoring import models as _monitoring  # noqa: F401
from ids_app.storage import models as _storage  # noqa: F401
from ids_app.studies import models as _studies  # noqa: F401
from ids_app.users.models import Signature, User

metadata = Base.metadata

__all__ = ["AuditChainHead", "AuditEntry", "Signature", "User", "metadata"]
