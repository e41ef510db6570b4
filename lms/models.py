"""Imports every model so that metadata (and Alembic) sees the whole schema."""
from .audit.models import AuditEntry  # noqa: F401
from .people.models import LoginFailure, PasswordSetupToken, Role, User  # noqa: F401
from .people.security_models import RecoveryCode, SecondFactorFailure, TotpFactor, UserSession  # noqa: F401
from .places.models import Kecamatan, Outlet, OutletManagerTerm, Region  # noqa: F401
from .programme.models import (  # noqa: F401
    Cohort, Enrolment, EnrolmentStage, Evidence, EvidenceReview, Financing, FinancialReport, Licence,
    MarketingStep, StoredFile,
)
from .sessions.models import CalendarFeed, Registration, SessionSpeaker, TrainingSession  # noqa: F401
from .visits.models import ActionItem, MentorAssignment, Visit, VisitPhoto  # noqa: F401
from .certification.models import (  # noqa: F401
    Certificate, CertificateCounter, CertificateJob, CertificateJobItem,
)
from .dashboard.models import DashboardCount, DashboardRegionCount  # noqa: F401
from .outbox.models import OutboxEvent  # noqa: F401
from .notifications.models import (  # noqa: F401
    Broadcast, Delivery, Notification, NotificationPreference,
)
from .feedback.models import FeedbackRating, FeedbackResponse, TestAnswer, TestAttempt  # noqa: F401
from .privacy.models import BreachNotice, Consent, DataAccess, DataRequest  # noqa: F401
from .api.models import ApiToken  # noqa: F401
from .webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: F401
