"""The demo program loaded by `flask liaison seed-demo` (idempotent: missing parts are added).

`liaison@example.org` (Marisol Ortega) is certified through the training services and files the
demo requests (see `liaison.service_requests.demo`); the other liaisons of her cohort, such as
`thuy.nguyen@example.org`, attended the sessions and are still in training.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from liaison.auth.models import Role, User
from liaison.auth.passwords import hash_password
from liaison.auth.services import create_user, find_user_by_email
from liaison.db_types import utcnow
from liaison.enrollment import services as enrollment
from liaison.enrollment import sessions as training
from liaison.enrollment.models import ApplicationSource, Cohort, CohortStatus, GroupType, SessionKind
from liaison.extensions import db
from liaison.service_requests.catalog import seed_catalog
from liaison.service_requests.demo import seed_requests
from liaison.training.seed import load_curriculum

DEMO_PASSWORD = "liaison-demo"  # noqa: S105 - documented demo credential, refused by deploy-check

DEMO_USERS = [
    {
        "email": "coordinator@example.org",
        "full_name": "Dana Whitfield",
        "role": Role.COORDINATOR,
        "is_admin": True,
        "preferred_language": "en",
    },
    {
        "email": "coordinator2@example.org",
        "full_name": "Luis Romero",
        "role": Role.COORDINATOR,
        "is_admin": False,
        "preferred_language": "es",
    },
]

# (name, email, neighborhood, group type, group, language, has set a password)
COHORT_MEMBERS = {
    "Cedar Park · Spring": [
        (
            "Marisol Ortega",
            "liaison@example.org",
            "Cedar Park",
            GroupType.CIVIC_ASSOCIATION,
            "Cedar Park Neighbors",
            "en",
            True,
        ),
        (
            "James Whitaker",
            "james.whitaker@example.org",
            "Cedar Park",
            GroupType.BLOCK_CLUB,
            "4800 Cedar Ave Block Club",
            "en",
            True,
        ),
        (
            "Thuy Nguyen",
            "thuy.nguyen@example.org",
            "Cedar Park",
            GroupType.FAITH_GROUP,
            "St. Francis Parish",
            "en",
            True,
        ),
        (
            "Ana Lucía Pérez",
            "ana.perez@example.org",
            "Kingsessing",
            GroupType.CIVIC_ASSOCIATION,
            "Kingsessing Civic",
            "es",
            True,
        ),
        (
            "Robert Okafor",
            "robert.okafor@example.org",
            "Cedar Park",
            GroupType.BLOCK_CLUB,
            "Larchwood Block Club",
            "en",
            False,
        ),
        ("Grace Kim", "grace.kim@example.org", "Spruce Hill", GroupType.OTHER, "Spruce Hill Seniors", "en", True),
    ],
    "Kensington · Summer": [
        (
            "Carmen Delgado",
            "carmen.delgado@example.org",
            "Kensington",
            GroupType.CIVIC_ASSOCIATION,
            "Kensington Neighbors United",
            "es",
            True,
        ),
        (
            "Michael Brennan",
            "michael.brennan@example.org",
            "Fishtown",
            GroupType.BLOCK_CLUB,
            "Thompson St Block Club",
            "en",
            True,
        ),
        (
            "Aisha Rahman",
            "aisha.rahman@example.org",
            "Kensington",
            GroupType.FAITH_GROUP,
            "Masjid Al-Ansar",
            "en",
            False,
        ),
        (
            "Pedro Santiago",
            "pedro.santiago@example.org",
            "Kensington",
            GroupType.OTHER,
            "Kensington Youth Soccer",
            "es",
            True,
        ),
    ],
}

PENDING = [
    ("Denise Carter", "denise.carter@example.org", "Germantown", GroupType.BLOCK_CLUB, "Haines St Block Club", "en"),
    ("Wei Chen", "wei.chen@example.org", "Chinatown", GroupType.CIVIC_ASSOCIATION, "Chinatown Civic Association", "en"),
    ("Yolanda Reyes", "yolanda.reyes@example.org", "Hunting Park", GroupType.FAITH_GROUP, "Iglesia Nueva Vida", "es"),
    (
        "Frank DiMarco",
        "frank.dimarco@example.org",
        "South Philadelphia",
        GroupType.CIVIC_ASSOCIATION,
        "Passyunk Square Civic",
        "en",
    ),
]
WAITLISTED = [("Olga Petrova", "olga.petrova@example.org", "Northeast", GroupType.OTHER, "Somerton Residents", "en")]
DECLINED = [("Sam Doe", "sam.doe@example.org", "Outside the city", GroupType.OTHER, "", "en")]


def _local(day: date, hour: int) -> datetime:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, time(hour), tzinfo=zone)


def _application(name: str, email: str, neighborhood: str, group: GroupType, group_name: str, language: str):
    return enrollment.ApplicationInput(
        full_name=name,
        email=email,
        phone="215-555-0100",
        address="1 Demo St",
        zip_code="19104",
        neighborhood=neighborhood,
        group_type=group,
        group_name=group_name,
        languages=["en", "es"] if language == "es" else ["en"],
        availability=["weekday_evenings"],
        motivation="Our block wants the city to hear us.",
        consent=True,
        preferred_language=language,
    )


def seed_demo() -> list[str]:
    """Create whatever part of the demo program is missing; returns what was created."""
    created: list[str] = []
    for spec in DEMO_USERS:
        if find_user_by_email(spec["email"]) is None:
            create_user(password=DEMO_PASSWORD, **spec)
            created.append(spec["email"])
    coordinator = find_user_by_email("coordinator@example.org")
    if coordinator is None:  # pragma: no cover - created just above
        raise RuntimeError("the demo coordinator is missing")
    db.session.flush()

    if db.session.scalar(select(Cohort.id).limit(1)) is None:
        _seed_program(coordinator)
        created.append("cohorts, applications and sessions")
    modules = load_curriculum(coordinator)
    if modules:
        created.append(f"{len(modules)} training modules")
    catalog = seed_catalog(coordinator)
    if catalog.anything:
        created.append(
            f"{catalog.service_types} services, {catalog.attributes} questions, {catalog.neighborhoods} neighborhoods"
        )
    requests = seed_requests(coordinator)
    if requests.filed:
        created.append(f"{requests.filed} requests and a draft of {requests.draft_rows} rows for {requests.filer}")
    return created


def _seed_program(coordinator: User) -> None:
    today = utcnow().date()
    cohorts = {
        "Cedar Park · Spring": enrollment.create_cohort(
            coordinator,
            enrollment.CohortInput(
                name="Cedar Park · Spring",
                neighborhood="Cedar Park",
                starts_on=today - timedelta(days=21),
                ends_on=today + timedelta(days=60),
                capacity=12,
                status=CohortStatus.ACTIVE,
                min_sessions_required=2,
                coordinator_ids=[coordinator.id],
            ),
        ),
        "Kensington · Summer": enrollment.create_cohort(
            coordinator,
            enrollment.CohortInput(
                name="Kensington · Summer",
                neighborhood="Kensington",
                starts_on=today + timedelta(days=10),
                ends_on=today + timedelta(days=100),
                capacity=8,
                status=CohortStatus.PLANNED,
                min_sessions_required=2,
                coordinator_ids=[coordinator.id],
            ),
        ),
    }
    demo_hash = hash_password(DEMO_PASSWORD)
    members: dict[str, list[int]] = {}
    for cohort_name, people in COHORT_MEMBERS.items():
        for name, email, neighborhood, group, group_name, language, has_password in people:
            application = enrollment.submit_application(
                _application(name, email, neighborhood, group, group_name, language), notify=False
            )
            membership = enrollment.approve_application(coordinator, application, cohorts[cohort_name].id, "Welcome!")
            if has_password:
                user = db.session.get(User, membership.user_id)
                user.password_hash = demo_hash
                user.password_changed_at = utcnow()
            members.setdefault(cohort_name, []).append(membership.user_id)
    for spec in PENDING:
        enrollment.submit_application(_application(*spec), notify=False)
    for spec in WAITLISTED:
        enrollment.waitlist_application(
            coordinator, enrollment.submit_application(_application(*spec), notify=False), "Next cohort"
        )
    for spec in DECLINED:
        enrollment.decline_application(
            coordinator,
            enrollment.submit_application(_application(*spec), notify=False),
            "Lives outside the city limits",
        )
    enrollment.submit_application(
        _application(
            "Imported Neighbor", "imported.neighbor@example.org", "Cedar Park", GroupType.BLOCK_CLUB, "", "en"
        ),
        source=ApplicationSource.IMPORT,
        notify=False,
    )

    spring = cohorts["Cedar Park · Spring"]
    past = [
        ("Welcome and what 311 is", today - timedelta(days=14)),
        ("Writing a request the city can act on", today - timedelta(days=7)),
    ]
    for index, (title, day) in enumerate(past):
        session = training.schedule_session(
            coordinator,
            spring,
            training.SessionInput(
                title=title,
                kind=SessionKind.IN_PERSON,
                starts_at=_local(day, 18),
                ends_at=_local(day, 20),
                location="Cedar Park Library, 50th St & Baltimore Ave",
            ),
        )
        for position, user_id in enumerate(members["Cedar Park · Spring"]):
            training.set_attendance(coordinator, session, user_id, present=(position + index) % 5 != 4)
    training.schedule_session(
        coordinator,
        spring,
        training.SessionInput(
            title="Following up and what statuses mean",
            kind=SessionKind.VIRTUAL,
            starts_at=_local(today + timedelta(days=5), 18),
            ends_at=_local(today + timedelta(days=5), 19),
            link="https://meet.example.org/liaison-spring",
        ),
    )
    kensington = cohorts["Kensington · Summer"]
    training.schedule_session(
        coordinator,
        kensington,
        training.SessionInput(
            title="Welcome and what 311 is",
            kind=SessionKind.IN_PERSON,
            starts_at=_local(today + timedelta(days=12), 18),
            ends_at=_local(today + timedelta(days=12), 20),
            location="McPherson Square Library, Kensington Ave",
        ),
    )
