"""Personal access tokens for the JSON API (/api/v1)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from ..people.models import User

#: the scopes a token may carry; "read" is implied by every other one
SCOPES = ("read", "write:evidence", "write:visits", "write:attendance", "review", "admin")


class ApiToken(Base):
    """A personal access token: acts as its user, limited to its scopes, until it expires or is revoked.

    Only the SHA-256 of the secret is stored; the token is shown once, when it is made."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: the owner's label ("Portal Satu Data", "Laptop kantor")
    name: Mapped[str] = mapped_column(sa.String(80))
    #: the first characters of the token (``lms_ab12cd``), shown in lists to tell tokens apart
    prefix: Mapped[str] = mapped_column(sa.String(16))
    #: hex SHA-256 of the whole token
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: a list of SCOPES
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: at most a year after creation
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
