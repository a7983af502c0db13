"""Paper for meetings: a batch's printable intake sheet and the meeting packet of a liaison's area.

The intake sheet is for neighbors without technology: numbered blank rows (the numbers are the
rows' future positions in the batch's grid), the service list with codes, the consent sentence
and a QR code of the batch page, so the liaison types the sheet into the same batch later. It
holds no data at all, only the batch's title, date and neighborhood.

The meeting packet summarises the requests filed in one neighborhood by every liaison: counts by
service (open, closed, rejected), the median days to close, and the requests still open after
OVERDUE_DAYS. It shows non-personal fields only: the service, the address at block level (the
public status page's `public_location`), the status and dates; never a neighbor's contact data,
a description (free text may name people) or which liaison filed a request.

Both run a fixed number of queries whatever the data size; the counts and (on PostgreSQL) the
medians are computed in SQL, and the lists are capped.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_request_context, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, func, select

from liaison.auth.models import User
from liaison.db_types import utcnow
from liaison.errors import Conflict, ValidationFailed
from liaison.extensions import db
from liaison.service_requests.batches import get_own_batch, home_neighborhood
from liaison.service_requests.models import (
    OPEN_STATES,
    BatchRow,
    BatchStatus,
    RequestBatch,
    RequestState,
    ServiceRequest,
    ServiceType,
)
from liaison.service_requests.tracking import public_location
from liaison.service_requests.validation import load_catalog
from liaison.training.content import localized

# Intake sheet: blank rows printed (a page holds about 12, the first page 4).
SHEET_ROWS_DEFAULT = 15
SHEET_ROWS_MIN = 5
SHEET_ROWS_MAX = 40

# Meeting packet: the periods offered (days back from today) and the default.
PACKET_PERIODS: tuple[int, ...] = (30, 90)
PACKET_PERIOD_DEFAULT = 90
# An open request older than this many days is listed as overdue.
OVERDUE_DAYS = 30
# Lists in the packet stop here and say how many more there are (a PDF of thousands of lines
# helps nobody at a meeting, and rendering time grows with every line).
OVERDUE_LIST_MAX = 200
RECENT_LIST_MAX = 50
# The bar chart shows the services with the most requests; the table shows them all.
CHART_SERVICES_MAX = 12


def _languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute address of a page, at PUBLIC_BASE_URL when set (as the receipt's QR does)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    if not base:
        return url_for(endpoint, _external=True, **values)
    path = url_for(endpoint, **values)
    root = request.script_root if has_request_context() else ""
    if root and path.startswith(root):
        path = path[len(root) :]
    return base.rstrip("/") + path


def _whole_number(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


# Intake sheet -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetOptions:
    """What the liaison chose for the sheet: how many blank rows, in which language."""

    rows: int = SHEET_ROWS_DEFAULT
    language: str = "en"


def sheet_options(args: Any, default_language: str) -> SheetOptions:
    """The sheet's options from a query string; a bad value is a ValidationFailed naming its field."""
    rows_text = args.get("rows", "")
    rows = SHEET_ROWS_DEFAULT if not str(rows_text).strip() else _whole_number(rows_text)
    if rows is None or not SHEET_ROWS_MIN <= rows <= SHEET_ROWS_MAX:
        raise ValidationFailed(
            _l("Choose between %(low)d and %(high)d rows.", low=SHEET_ROWS_MIN, high=SHEET_ROWS_MAX), field="rows"
        )
    language = (args.get("language") or "").strip() or default_language
    if language not in _languages():
        raise ValidationFailed(_l("Choose English or Spanish."), field="language")
    return SheetOptions(rows=rows, language=language)


@dataclass(frozen=True)
class SheetService:
    """A line of the sheet's service list: the code to write, the name, what else to ask."""

    code: str
    name: str
    group: str
    # (question, required) for each attribute the service asks about.
    questions: list[tuple[str, bool]]


@dataclass(frozen=True)
class IntakeSheet:
    """Everything the printed intake sheet shows (no neighbor data: the rows are blank)."""

    batch: RequestBatch
    batch_url: str
    services: list[SheetService]
    row_numbers: list[int]
    language: str


def intake_sheet(liaison: User, batch_id: int, options: SheetOptions) -> IntakeSheet:
    """The sheet for one of the liaison's draft batches (404 for another's, 409 once submitted).

    Texts are taken in the current language: call it inside `force_locale(options.language)`.
    Four queries: the batch, the catalog (two), the last row position.
    """
    batch = get_own_batch(liaison, batch_id)
    if batch.status is not BatchStatus.DRAFT:
        raise Conflict(
            _l("This batch has been submitted, so there is nothing left to write down for it. Start a new batch.")
        )
    catalog = load_catalog()
    last = db.session.scalar(select(func.coalesce(func.max(BatchRow.position), 0)).where(BatchRow.batch_id == batch.id))
    first = int(last or 0) + 1
    services = []
    for service_type in catalog.types:
        spec = catalog.specs[service_type.id]
        services.append(
            SheetService(
                code=service_type.code,
                name=localized(service_type.name),
                group=localized(service_type.group),
                questions=[(attribute.label(), attribute.required) for attribute in spec.attributes.values()],
            )
        )
    return IntakeSheet(
        batch=batch,
        batch_url=public_url("batches.show", batch_id=batch.id),
        services=services,
        row_numbers=list(range(first, first + options.rows)),
        language=options.language,
    )


# Meeting packet ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PacketOptions:
    """The packet's period (days back from now), neighborhood and language."""

    period_days: int = PACKET_PERIOD_DEFAULT
    neighborhood: str = ""
    language: str = "en"


def packet_neighborhoods(liaison: User) -> list[str]:
    """The areas a liaison may make a packet for: their cohort's, then those they have filed in.

    Three queries (the membership, its cohort, the distinct neighborhoods of their requests).
    """
    home = home_neighborhood(liaison)
    filed = db.session.scalars(
        select(ServiceRequest.neighborhood)
        .where(ServiceRequest.liaison_id == liaison.id, ServiceRequest.neighborhood != "")
        .distinct()
    ).all()
    others = sorted({name for name in filed if name and name != home}, key=str.casefold)
    return ([home] if home else []) + others


def check_packet_options(options: PacketOptions, choices: Sequence[str]) -> PacketOptions:
    """The options when they are allowed; otherwise a ValidationFailed naming the field."""
    if not choices:
        raise ValidationFailed(
            _l(
                "There is no area to report on yet: the packet covers your cohort's neighborhood "
                "or a neighborhood where you have filed requests."
            ),
            field="neighborhood",
        )
    if options.period_days not in PACKET_PERIODS:
        raise ValidationFailed(_l("Choose the last 30 or the last 90 days."), field="period")
    neighborhood = options.neighborhood or choices[0]
    if neighborhood not in choices:
        raise ValidationFailed(_l("Choose a neighborhood from the list."), field="neighborhood")
    if options.language not in _languages():
        raise ValidationFailed(_l("Choose English or Spanish."), field="language")
    return PacketOptions(period_days=options.period_days, neighborhood=neighborhood, language=options.language)


@dataclass
class ServiceLine:
    """One service's requests filed in the area during the period."""

    service_type_id: int
    code: str
    name: str
    filed: int = 0
    open: int = 0
    closed: int = 0
    rejected: int = 0
    # Median days from filing to closing, of this service's requests closed in the period.
    median_days: float | None = None
    closed_in_period: int = 0


@dataclass(frozen=True)
class PacketItem:
    """A request as the packet lists it: no contact data, no description, no liaison."""

    number: int
    service: str
    location: str
    zipcode: str
    state: RequestState
    requested_at: datetime
    age_days: int


@dataclass
class MeetingPacket:
    """Everything the meeting packet shows."""

    neighborhood: str
    period_days: int
    since: datetime
    generated_at: datetime
    services: list[ServiceLine]
    median_days: float | None
    closed_in_period: int
    overdue: list[PacketItem]
    overdue_total: int
    recent: list[PacketItem]
    overdue_days: int = OVERDUE_DAYS
    language: str = "en"
    totals: ServiceLine = field(init=False)

    def __post_init__(self) -> None:
        self.totals = ServiceLine(
            service_type_id=0,
            code="",
            name="",
            filed=sum(line.filed for line in self.services),
            open=sum(line.open for line in self.services),
            closed=sum(line.closed for line in self.services),
            rejected=sum(line.rejected for line in self.services),
            median_days=self.median_days,
            closed_in_period=self.closed_in_period,
        )

    @property
    def overdue_more(self) -> int:
        return max(self.overdue_total - len(self.overdue), 0)

    @property
    def recent_more(self) -> int:
        return max(self.totals.filed - len(self.recent), 0)

    @property
    def chart_services(self) -> list[ServiceLine]:
        return self.services[:CHART_SERVICES_MAX]


def _days_expression() -> ColumnElement[Any]:
    """Days from filing to closing, as a number, in the database's own date arithmetic."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", ServiceRequest.closed_at - ServiceRequest.requested_at) / 86400.0
    return func.julianday(ServiceRequest.closed_at) - func.julianday(ServiceRequest.requested_at)


def _medians(
    area: ColumnElement[bool], since: datetime
) -> tuple[dict[int, tuple[float, int]], tuple[float | None, int]]:
    """Median days to close by service and overall, for requests closed since `since` (one query).

    PostgreSQL computes the medians itself (percentile_cont with ROLLUP: one row per service and
    one for all). SQLite has no percentile function: the closed requests' durations come back in
    one query (one number each) and the medians are taken here.
    """
    closed = (
        area,
        ServiceRequest.state == RequestState.CLOSED,
        ServiceRequest.closed_at.is_not(None),
        ServiceRequest.closed_at >= since,
    )
    days = func.greatest(_days_expression(), 0) if db.session.get_bind().dialect.name == "postgresql" else None
    by_service: dict[int, tuple[float, int]] = {}
    overall: tuple[float | None, int] = (None, 0)
    if days is not None:
        rows = db.session.execute(
            select(ServiceRequest.service_type_id, func.percentile_cont(0.5).within_group(days), func.count())
            .where(*closed)
            .group_by(func.rollup(ServiceRequest.service_type_id))
        )
        for service_type_id, median, count in rows:
            if service_type_id is None:
                overall = (float(median) if median is not None else None, int(count))
            else:
                by_service[service_type_id] = (float(median), int(count))
        return by_service, overall
    durations: dict[int, list[float]] = {}
    everything: list[float] = []
    for service_type_id, value in db.session.execute(
        select(ServiceRequest.service_type_id, _days_expression()).where(*closed)
    ):
        value = max(float(value or 0.0), 0.0)
        durations.setdefault(service_type_id, []).append(value)
        everything.append(value)
    by_service = {key: (statistics.median(values), len(values)) for key, values in durations.items()}
    if everything:
        overall = (statistics.median(everything), len(everything))
    return by_service, overall


def _items(rows: Any, names: dict[int, str], now: datetime) -> list[PacketItem]:
    return [
        PacketItem(
            number=number,
            service=names.get(service_type_id, ""),
            location=public_location(address),
            zipcode=zipcode,
            state=state,
            requested_at=requested_at,
            age_days=max((now - requested_at).days, 0),
        )
        for number, service_type_id, address, zipcode, state, requested_at, *_rest in rows
    ]


def meeting_packet(liaison: User, options: PacketOptions, *, now: datetime | None = None) -> MeetingPacket:
    """The packet of one area the liaison may report on (ValidationFailed otherwise).

    Eight queries whatever the number of requests: the liaison's areas (three), the service
    names, the counts by service, the medians, the overdue list with its total, the latest
    requests. Texts (service names, block-level addresses) are in the current language: call
    it inside `force_locale(options.language)`.
    """
    options = check_packet_options(options, packet_neighborhoods(liaison))
    now = now or utcnow()
    since = now - timedelta(days=options.period_days)
    area = ServiceRequest.neighborhood == options.neighborhood
    service_rows = db.session.execute(select(ServiceType.id, ServiceType.code, ServiceType.name)).all()
    names = {id_: localized(name) for id_, _code, name in service_rows}
    codes = {id_: code for id_, code, _name in service_rows}

    def count_of(*states: RequestState) -> Any:
        return func.sum(case((ServiceRequest.state.in_(states), 1), else_=0))

    lines: dict[int, ServiceLine] = {}
    for service_type_id, filed, open_, closed, rejected in db.session.execute(
        select(
            ServiceRequest.service_type_id,
            func.count(),
            count_of(*OPEN_STATES),
            count_of(RequestState.CLOSED),
            count_of(RequestState.REJECTED),
        )
        .where(area, ServiceRequest.requested_at >= since)
        .group_by(ServiceRequest.service_type_id)
    ):
        lines[service_type_id] = ServiceLine(
            service_type_id=service_type_id,
            code=codes.get(service_type_id, ""),
            name=names.get(service_type_id, ""),
            filed=int(filed),
            open=int(open_ or 0),
            closed=int(closed or 0),
            rejected=int(rejected or 0),
        )
    by_service, (median_days, closed_in_period) = _medians(area, since)
    for service_type_id, (median, count) in by_service.items():
        line = lines.setdefault(
            service_type_id,
            ServiceLine(
                service_type_id=service_type_id,
                code=codes.get(service_type_id, ""),
                name=names.get(service_type_id, ""),
            ),
        )
        line.median_days = median
        line.closed_in_period = count

    columns = (
        ServiceRequest.id,
        ServiceRequest.service_type_id,
        ServiceRequest.address,
        ServiceRequest.zipcode,
        ServiceRequest.state,
        ServiceRequest.requested_at,
    )
    overdue_rows = db.session.execute(
        select(*columns, func.count().over())
        .where(
            area,
            ServiceRequest.state.in_(OPEN_STATES),
            ServiceRequest.requested_at < now - timedelta(days=OVERDUE_DAYS),
        )
        .order_by(ServiceRequest.requested_at, ServiceRequest.id)
        .limit(OVERDUE_LIST_MAX)
    ).all()
    recent_rows = db.session.execute(
        select(*columns)
        .where(area, ServiceRequest.requested_at >= since)
        .order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())
        .limit(RECENT_LIST_MAX)
    ).all()
    services = sorted(lines.values(), key=lambda line: (-line.filed, -line.closed_in_period, line.name.casefold()))
    return MeetingPacket(
        neighborhood=options.neighborhood,
        period_days=options.period_days,
        since=since,
        generated_at=now,
        services=services,
        median_days=median_days,
        closed_in_period=closed_in_period,
        overdue=_items(overdue_rows, names, now),
        overdue_total=int(overdue_rows[0][-1]) if overdue_rows else 0,
        recent=_items(recent_rows, names, now),
        language=options.language,
    )
