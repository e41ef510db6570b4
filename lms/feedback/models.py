"""Session feedback (reaction) and pre/post knowledge tests (learning).

A response and an attempt belong to one attendee of one session. Who answered is stored (one
response per attendee, editable until it closes); what each person answered is shown to nobody
but themselves: reports only ever read aggregates of at least ``MIN_GROUP`` responses.
"""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, TimestampMixin, UTCDateTime, utcnow
from ..programme.models import _enum


class FeedbackResponse(TimestampMixin, Base):
    __tablename__ = "feedback_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: the questionnaire (curricula/questionnaires/<key>.yaml) the answers follow
    questionnaire_key: Mapped[str] = mapped_column(sa.String(64))
    #: free text; shown to coordinators only among at least MIN_GROUP responses, never with a name
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    ratings: Mapped[list[FeedbackRating]] = relationship(back_populates="response", cascade="all, delete-orphan")

    __table_args__ = (sa.UniqueConstraint("session_id", "user_id"),)


class FeedbackRating(Base):
    """One 1–5 answer: a scale of the questionnaire, or ``speaker`` with the speaker rated."""

    __tablename__ = "feedback_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_responses.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(sa.String(40))
    #: for ``item == "speaker"``: whom the rating is about (0: not a speaker rating; keeps the unique key simple)
    speaker_id: Mapped[int] = mapped_column(default=0, server_default="0")
    value: Mapped[int] = mapped_column(sa.SmallInteger)

    response: Mapped[FeedbackResponse] = relationship(back_populates="ratings")

    __table_args__ = (
        sa.UniqueConstraint("response_id", "item", "speaker_id"),
        sa.CheckConstraint("value BETWEEN 1 AND 5", name="value_1_to_5"),
        sa.Index("ix_feedback_ratings_item", "item", "speaker_id"),
    )


class TestPhase(str, enum.Enum):
    __test__ = False  # not a pytest test class

    PRE = "pre"
    POST = "post"


class TestAttempt(Base):
    """A trainee's pre- or post-test of a session; answers are stored as they go (resumable)."""

    __tablename__ = "test_attempts"
    __test__ = False  # not a pytest test class

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    phase: Mapped[TestPhase] = mapped_column(_enum(TestPhase, "test_phase"))
    test_key: Mapped[str] = mapped_column(sa.String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: set when every question is answered; the score is final from then on
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    correct: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)

    answers: Mapped[list[TestAnswer]] = relationship(back_populates="attempt", cascade="all, delete-orphan")

    __table_args__ = (sa.UniqueConstraint("session_id", "user_id", "phase"),)

    @property
    def score(self) -> float | None:
        """Share of correct answers of a finished attempt."""
        return self.correct / self.total if self.finished_at and self.total else None


class TestAnswer(Base):
    __tablename__ = "test_answers"
    __test__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("test_attempts.id", ondelete="CASCADE"), index=True)
    question_key: Mapped[str] = mapped_column(sa.String(64))
    #: the chosen option (0-based, in the file's order)
    choice: Mapped[int] = mapped_column(sa.SmallInteger)
    is_correct: Mapped[bool] = mapped_column()

    attempt: Mapped[TestAttempt] = relationship(back_populates="answers")

    __table_args__ = (sa.UniqueConstraint("attempt_id", "question_key"),)
