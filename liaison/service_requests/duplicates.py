"""Possible duplicates in a draft batch, and the liaison's keep-or-drop choice for each.

A row is flagged when another row of the same batch asks for the same service at the same
normalised address, or when an open request of the same service at that address was filed in
the last `DUPLICATE_WINDOW_DAYS` days. The check runs in a fixed number of queries whatever the
batch's size: the catalog, the rows, and one query over the batch's addresses (served by the
`ix_service_request_duplicate_key` index).

Rules the submit relies on:
- A row that is not flagged is filed, whatever decision it once had (a row edited to another
  address is no longer a duplicate; an old "drop" must not silently lose it).
- A flagged row with no decision is kept: the review page lists every flagged row before the
  Submit button, so filing it is what the liaison saw.
- A decision changes what will be filed, so it bumps the batch's revision like a row edit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from liaison.auth.models import User
from liaison.db_types import utcnow
from liaison.errors import Conflict, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests.models import (
    OPEN_STATES,
    BatchRow,
    BatchStatus,
    DuplicateDecision,
    RequestBatch,
    RequestState,
    ServiceRequest,
)
from liaison.service_requests.validation import Catalog, load_catalog, normalize_address

# Distinct addresses per query; SQLite accepts 32,766 parameters, and the batch cap (5,000
# rows by default) keeps the check at one query.
ADDRESSES_PER_QUERY = 10_000

DuplicateKey = tuple[int, str]


@dataclass(frozen=True)
class OpenMatch:
    """An open request that a row may repeat."""

    request_id: int
    state: RequestState
    requested_at: datetime
    age_days: int


@dataclass
class RowFlag:
    """Why one row is flagged: the rows of the batch it repeats and the open requests it matches."""

    row: BatchRow
    service_type_id: int
    repeats: list[BatchRow] = field(default_factory=list)
    matches: list[OpenMatch] = field(default_factory=list)

    @property
    def decision(self) -> DuplicateDecision | None:
        return self.row.duplicate_decision

    @property
    def dropped(self) -> bool:
        return self.row.duplicate_decision == DuplicateDecision.DROP

    @property
    def duplicate_of_id(self) -> int | None:
        """The newest open request this row matches (recorded on the filed request when kept)."""
        return self.matches[0].request_id if self.matches else None


@dataclass
class DuplicateReport:
    """Every flagged row of a batch, by row id, and the clusters of rows that repeat each other.

    Rows are BatchRow objects or plain result rows with `id`, `position`, `values` and
    `duplicate_decision` (the submit loads plain rows: 5,000 ORM objects cost more than the check).
    """

    flags: dict[int, RowFlag]
    groups: list[list[BatchRow]]

    def flag_for(self, row_id: int) -> RowFlag | None:
        return self.flags.get(row_id)

    @property
    def flagged(self) -> list[RowFlag]:
        """Flagged rows in batch order."""
        return sorted(self.flags.values(), key=lambda flag: flag.row.position)

    @property
    def dropped_row_ids(self) -> set[int]:
        """Rows that will not be filed: flagged and dropped by the liaison."""
        return {row_id for row_id, flag in self.flags.items() if flag.dropped}

    @property
    def open_match_count(self) -> int:
        return sum(1 for flag in self.flags.values() if flag.matches)


def duplicate_key(values: dict, catalog: Catalog) -> DuplicateKey | None:
    """(service type id, normalised address) of a row as typed, or None when either is missing."""
    code = values.get("service_code")
    address = values.get("address")
    if not isinstance(code, str) or not isinstance(address, str) or not code.strip():
        return None
    service_type = catalog.find(code)
    normalized = normalize_address(address) if address.strip() else ""
    if service_type is None or not normalized:
        return None
    return service_type.id, normalized


def open_matches(keys: Iterable[DuplicateKey], *, now: datetime | None = None) -> dict[DuplicateKey, list[OpenMatch]]:
    """Open requests filed in the window for each (service type, address), newest first."""
    wanted = set(keys)
    if not wanted:
        return {}
    now = now or utcnow()
    since = now - timedelta(days=current_app.config["DUPLICATE_WINDOW_DAYS"])
    type_ids = sorted({type_id for type_id, _address in wanted})
    addresses = sorted({address for _type_id, address in wanted})
    found: dict[DuplicateKey, list[OpenMatch]] = defaultdict(list)
    for start in range(0, len(addresses), ADDRESSES_PER_QUERY):
        query = (
            select(
                ServiceRequest.id,
                ServiceRequest.service_type_id,
                ServiceRequest.normalized_address,
                ServiceRequest.state,
                ServiceRequest.requested_at,
            )
            .where(
                ServiceRequest.service_type_id.in_(type_ids),
                ServiceRequest.normalized_address.in_(addresses[start : start + ADDRESSES_PER_QUERY]),
                ServiceRequest.requested_at >= since,
                ServiceRequest.state.in_(OPEN_STATES),
            )
            .order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())
        )
        for request_id, type_id, address, state, requested_at in db.session.execute(query):
            key = (type_id, address)
            if key in wanted:
                age = max(0, (now - requested_at).days)
                found[key].append(OpenMatch(request_id, RequestState(state), requested_at, age))
    return dict(found)


def find_duplicates(
    batch: RequestBatch,
    catalog: Catalog | None = None,
    now: datetime | None = None,
    *,
    rows: list[BatchRow] | None = None,
) -> DuplicateReport:
    """Flag rows that repeat each other or an open request (see the module's rules)."""
    catalog = catalog if catalog is not None else load_catalog()
    rows = rows if rows is not None else list(batch.rows)
    by_key: dict[DuplicateKey, list[BatchRow]] = defaultdict(list)
    for row in rows:
        key = duplicate_key(row.values or {}, catalog)
        if key is not None:
            by_key[key].append(row)
    matches = open_matches(by_key.keys(), now=now)

    flags: dict[int, RowFlag] = {}
    groups: list[list[BatchRow]] = []
    for key, same in by_key.items():
        existing = matches.get(key, [])
        if len(same) > 1:
            groups.append(sorted(same, key=lambda row: row.position))
        if len(same) == 1 and not existing:
            continue
        for row in same:
            repeats = [other for other in same if other is not row]
            flags[row.id] = RowFlag(
                row=row, service_type_id=key[0], repeats=sorted(repeats, key=lambda r: r.position), matches=existing
            )
    groups.sort(key=lambda group: group[0].position)
    return DuplicateReport(flags=flags, groups=groups)


def _own_draft_batch(liaison: User, batch: RequestBatch) -> None:
    if batch.liaison_id != liaison.id:
        raise NotFound(_l("There is no such batch."))
    if batch.status != BatchStatus.DRAFT:
        raise Conflict(_l("This batch was already submitted; its rows can no longer change."))


def set_duplicate_decision(
    liaison: User,
    batch: RequestBatch,
    row_id: int,
    decision: DuplicateDecision | str,
    *,
    catalog: Catalog | None = None,
) -> tuple[RowFlag, DuplicateReport]:
    """Keep or drop a flagged row; returns its flag and the batch's report (for the page)."""
    _own_draft_batch(liaison, batch)
    row = db.session.get(BatchRow, row_id)
    if row is None or row.batch_id != batch.id:
        raise NotFound(_l("There is no such row in this batch."))
    try:
        choice = DuplicateDecision(decision)
    except ValueError:
        raise ValidationFailed(_l("Choose keep or drop."), field="decision") from None
    report = find_duplicates(batch, catalog)
    flag = report.flag_for(row.id)
    if flag is None:
        raise ValidationFailed(_l("This row is no longer a possible duplicate; it will be filed."), field="decision")
    if row.duplicate_decision != choice:
        row.duplicate_decision = choice
        batch.revision += 1
    return flag, report
