"""Every model, imported in one place so the metadata is complete for migrations and create_all."""

from liaison.audit import AuditEvent
from liaison.auth.models import User, WebSession
from liaison.certificates.models import Certificate, CertificatePeriod, CertificateReminder
from liaison.enrollment.models import (
    Application,
    Attendance,
    Cohort,
    Membership,
    TrainingSession,
    cohort_coordinator,
)
from liaison.page_cache import DataVersion
from liaison.ratelimit import RateLimitCounter
from liaison.service_requests.models import (
    BatchRow,
    Neighborhood,
    RequestBatch,
    RequestEvent,
    ServiceAttribute,
    ServiceRequest,
    ServiceType,
)
from liaison.training.models import Choice, Module, ModuleRead, Question, Quiz, QuizAccommodation, QuizAttempt

__all__ = [
    "Application",
    "Attendance",
    "AuditEvent",
    "BatchRow",
    "Certificate",
    "CertificatePeriod",
    "CertificateReminder",
    "Choice",
    "Cohort",
    "DataVersion",
    "Membership",
    "Module",
    "ModuleRead",
    "Neighborhood",
    "Question",
    "Quiz",
    "QuizAccommodation",
    "QuizAttempt",
    "RateLimitCounter",
    "RequestBatch",
    "RequestEvent",
    "ServiceAttribute",
    "ServiceRequest",
    "ServiceType",
    "TrainingSession",
    "User",
    "WebSession",
    "cohort_coordinator",
]
