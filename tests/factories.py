"""Plain functions that make test data with sensible defaults."""

from __future__ import annotations

import itertools

from liaison.auth.models import Role, User
from liaison.auth.services import create_user
from liaison.extensions import db

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def make_user(
    role: Role = Role.LIAISON,
    *,
    email: str | None = None,
    full_name: str | None = None,
    password: str | None = PASSWORD,
    is_admin: bool = False,
    active: bool = True,
    preferred_language: str | None = None,
) -> User:
    """A committed account (with PASSWORD unless password=None, i.e. invited only)."""
    number = next(_counter)
    user = create_user(
        email=email or f"{role.value}{number}@test.example",
        full_name=full_name or f"Test {role.value.title()} {number}",
        role=role,
        password=password,
        is_admin=is_admin,
        preferred_language=preferred_language,
    )
    user.active = active
    db.session.commit()
    return user


def make_coordinator(**kwargs) -> User:
    return make_user(Role.COORDINATOR, **kwargs)


def make_admin(**kwargs) -> User:
    return make_user(Role.COORDINATOR, is_admin=True, **kwargs)


def make_liaison(**kwargs) -> User:
    return make_user(Role.LIAISON, **kwargs)


# Service requests -------------------------------------------------------------------------------


def make_certified_liaison(*, neighborhood: str = "Cedar Park", **kwargs) -> User:
    """A committed liaison in an active cohort of `neighborhood`, holding a valid certificate."""
    from datetime import timedelta

    from liaison.certificates.models import Certificate, CertificatePeriod, CertificateStatus, PeriodKind
    from liaison.certificates.services import new_code
    from liaison.db_types import utcnow
    from liaison.enrollment.models import Cohort, CohortStatus, Membership, MembershipStatus

    user = make_user(Role.LIAISON, **kwargs)
    cohort = Cohort(name=f"{neighborhood} cohort {next(_counter)}", neighborhood=neighborhood, capacity=50)
    cohort.status = CohortStatus.ACTIVE
    db.session.add(cohort)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, cohort_id=cohort.id, status=MembershipStatus.ACTIVE))
    now = utcnow()
    certificate = Certificate(
        user_id=user.id,
        cohort_id=cohort.id,
        code=new_code(),
        status=CertificateStatus.ACTIVE,
        issued_at=now,
        expires_at=now + timedelta(days=365),
    )
    certificate.periods.append(
        CertificatePeriod(kind=PeriodKind.ISSUED, starts_at=now, ends_at=now + timedelta(days=365))
    )
    db.session.add(certificate)
    db.session.commit()
    return user


def make_service_type(code: str | None = None, *, name: str | None = None, attributes=(), **kwargs):
    """A committed service type; `attributes` are dicts of ServiceAttribute fields."""
    from liaison.service_requests.models import ServiceAttribute, ServiceType

    number = next(_counter)
    service_type = ServiceType(
        code=code or f"SR-T{number:03d}",
        name={"en": name or f"Test service {number}", "es": name or f"Servicio de prueba {number}"},
        description={"en": "A service for tests."},
        group={"en": "Streets", "es": "Calles"},
        **kwargs,
    )
    for position, attribute in enumerate(attributes, start=1):
        fields = {"position": position, "description": {"en": attribute["code"].replace("_", " ").title()}}
        fields.update(attribute)
        service_type.attributes.append(ServiceAttribute(**fields))
    db.session.add(service_type)
    db.session.commit()
    return service_type


def make_batch(liaison: User, *, title: str = "Cedar Park civic meeting", rows=(), **kwargs):
    """A committed draft batch of `liaison` with `rows` (dicts of row values) stored as typed."""
    from liaison.service_requests.models import BatchRow, RequestBatch

    batch = RequestBatch(
        liaison_id=liaison.id, title=title, neighborhood=kwargs.pop("neighborhood", "Cedar Park"), **kwargs
    )
    for position, values in enumerate(rows, start=1):
        batch.rows.append(BatchRow(position=position, values=dict(values), errors={}))
    batch.row_count = len(rows)
    db.session.add(batch)
    db.session.commit()
    return batch


def make_service_request(liaison: User | None, service_type, **kwargs):
    """A committed filed request (state submitted unless given) with its "filed" history event."""
    import secrets

    from liaison.service_requests.models import RequestEvent, ServiceRequest

    fields = {
        "address": "1200 Cedar Ave",
        "normalized_address": "1200 cedar ave",
        "zipcode": "19143",
        "description": "Pothole in front of the school",
        "neighborhood": "Cedar Park",
    }
    fields.update(kwargs)
    request = ServiceRequest(
        public_token=secrets.token_urlsafe(16),
        liaison_id=liaison.id if liaison is not None else None,
        service_type_id=service_type.id,
        **fields,
    )
    request.events.append(
        RequestEvent(kind="filed", to_state=str(request.state or "submitted"), actor_id=request.liaison_id)
    )
    db.session.add(request)
    db.session.commit()
    return request
