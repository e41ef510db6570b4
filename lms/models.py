"""Imports every model so that metadata (and Alembic) sees the whole schema."""
from .audit.models import AuditEntry  # noqa: F401
from .people.models import LoginFailure, PasswordSetupToken, Role, User  # noqa: F401
from .places.models import Kecamatan, Outlet, OutletManagerTerm, Region  # noqa: F401
