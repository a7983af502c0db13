"""Service catalog (Open311 services and their attributes), request batches and service requests.

A batch is a certified liaison's bulk filing. While it is a draft it holds rows exactly as they
were typed or uploaded (`BatchRow.values`, strings), valid or not, so nothing is ever lost; on
submit every kept row becomes a `ServiceRequest` in one transaction.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from liaison.auth.models import User
from liaison.db_types import NOT_PII, PII, UTCDateTime, string_enum, utcnow
from liaison.extensions import db

LocalizedText = dict[str, str]

# The columns of a request row, as typed in the grid or read from an upload (DESIGN.md,
# "Bulk upload format"). Attribute values live under "attributes", keyed by attribute code.
ROW_FIELDS: tuple[str, ...] = (
    "service_code",
    "address",
    "zipcode",
    "lat",
    "long",
    "description",
    "neighbor_first_name",
    "neighbor_last_name",
    "neighbor_phone",
    "neighbor_email",
    "contact_consent",
)
NEIGHBOR_FIELDS: tuple[str, ...] = (
    "neighbor_first_name",
    "neighbor_last_name",
    "neighbor_phone",
    "neighbor_email",
)


class AttributeDatatype(enum.StrEnum):
    """Open311 attribute datatypes."""

    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    SINGLEVALUELIST = "singlevaluelist"
    MULTIVALUELIST = "multivaluelist"


class ServiceType(db.Model):
    """An Open311 service: what a request can be about."""

    __tablename__ = "service_type"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    code: Mapped[str] = mapped_column(String(32), unique=True, info=NOT_PII)
    name: Mapped[LocalizedText] = mapped_column(JSON, info=NOT_PII)
    description: Mapped[LocalizedText] = mapped_column(JSON, default=dict, info=NOT_PII)
    group: Mapped[LocalizedText] = mapped_column(JSON, default=dict, info=NOT_PII)
    # Comma-separated search words, as Open311 lists them.
    keywords: Mapped[str] = mapped_column(String(500), default="", info=NOT_PII)
    # Open311 "type": realtime, batch or blackbox.
    kind: Mapped[str] = mapped_column(String(16), default="realtime", info=NOT_PII)
    active: Mapped[bool] = mapped_column(Boolean, default=True, info=NOT_PII)
    position: Mapped[int] = mapped_column(Integer, default=0, info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, info=NOT_PII)

    attributes: Mapped[list[ServiceAttribute]] = relationship(
        back_populates="service_type", cascade="all, delete-orphan", order_by="ServiceAttribute.position"
    )


class ServiceAttribute(db.Model):
    """An Open311 attribute definition: an extra question asked for one service."""

    __tablename__ = "service_attribute"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    service_type_id: Mapped[int] = mapped_column(ForeignKey("service_type.id", ondelete="CASCADE"), info=NOT_PII)
    code: Mapped[str] = mapped_column(String(64), info=NOT_PII)
    datatype: Mapped[AttributeDatatype] = mapped_column(
        string_enum(AttributeDatatype, "attribute_datatype"), info=NOT_PII
    )
    required: Mapped[bool] = mapped_column(Boolean, default=False, info=NOT_PII)
    # False for informational attributes that only show text (Open311 `variable`).
    variable: Mapped[bool] = mapped_column(Boolean, default=True, info=NOT_PII)
    position: Mapped[int] = mapped_column(Integer, default=0, info=NOT_PII)
    # The question shown next to the field (Open311 `description`) and its help text.
    description: Mapped[LocalizedText] = mapped_column(JSON, info=NOT_PII)
    datatype_description: Mapped[LocalizedText] = mapped_column(JSON, default=dict, info=NOT_PII)
    # For list datatypes: [{"key": "blue", "name": {"en": "Blue", "es": "Azul"}}, ...].
    values: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, info=NOT_PII)

    service_type: Mapped[ServiceType] = relationship(back_populates="attributes")

    __table_args__ = (UniqueConstraint("service_type_id", "code"),)


class Neighborhood(db.Model):
    """A named area and the ZIP codes in it; rows filed outside a liaison's area are flagged."""

    __tablename__ = "neighborhood"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    name: Mapped[str] = mapped_column(String(120), unique=True, info=NOT_PII)
    # ["19104", "19139"]
    zipcodes: Mapped[list[str]] = mapped_column(JSON, default=list, info=NOT_PII)


class BatchStatus(enum.StrEnum):
    """A batch is edited as a draft and submitted once."""

    DRAFT = "draft"
    SUBMITTED = "submitted"


class RequestBatch(db.Model):
    """A certified liaison's bulk filing, e.g. "Cedar Park civic meeting, March"."""

    __tablename__ = "request_batch"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    liaison_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), info=NOT_PII)
    title: Mapped[str] = mapped_column(String(200), info=NOT_PII)
    meeting_date: Mapped[date | None] = mapped_column(Date, info=NOT_PII)
    neighborhood: Mapped[str] = mapped_column(String(120), default="", info=NOT_PII)
    status: Mapped[BatchStatus] = mapped_column(
        string_enum(BatchStatus, "batch_status"), default=BatchStatus.DRAFT, info=NOT_PII
    )
    # Bumped by every change to the rows: a submit names the revision the liaison reviewed.
    revision: Mapped[int] = mapped_column(Integer, default=0, info=NOT_PII)
    row_count: Mapped[int] = mapped_column(Integer, default=0, info=NOT_PII)
    # Set by the one submit that filed the batch (unique: the same key never files twice).
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True, info=NOT_PII)
    submitted_revision: Mapped[int | None] = mapped_column(Integer, info=NOT_PII)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, info=NOT_PII)

    liaison: Mapped[User] = relationship()
    rows: Mapped[list[BatchRow]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="BatchRow.position"
    )

    __table_args__ = (Index("ix_request_batch_liaison_created", "liaison_id", "created_at"),)


class DuplicateDecision(enum.StrEnum):
    """What the liaison chose for a row flagged as a possible duplicate."""

    KEEP = "keep"
    DROP = "drop"


class BatchRow(db.Model):
    """One draft row exactly as typed or uploaded, with the problems found in it."""

    __tablename__ = "batch_row"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    batch_id: Mapped[int] = mapped_column(ForeignKey("request_batch.id", ondelete="CASCADE"), info=NOT_PII)
    # Order in the batch (1, 2, ...); shown as the row number.
    position: Mapped[int] = mapped_column(Integer, info=NOT_PII)
    # The line of the uploaded file the row came from, if it was uploaded.
    source_line: Mapped[int | None] = mapped_column(Integer, info=NOT_PII)
    # {field: text as typed, ..., "attributes": {code: text or [texts]}}; holds neighbors' contact data.
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, info=PII)
    # {field or "attribute:<code>": message}; messages never repeat what was typed.
    errors: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, info=NOT_PII)
    duplicate_decision: Mapped[DuplicateDecision | None] = mapped_column(
        string_enum(DuplicateDecision, "duplicate_decision"), info=NOT_PII
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, info=NOT_PII)

    batch: Mapped[RequestBatch] = relationship(back_populates="rows")

    __table_args__ = (UniqueConstraint("batch_id", "position"),)

    @property
    def is_valid(self) -> bool:
        return not self.errors


class RequestState(enum.StrEnum):
    """The internal state; Open311 shows submitted, forwarded and in progress as "open"."""

    SUBMITTED = "submitted"
    FORWARDED = "forwarded"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    REJECTED = "rejected"


OPEN_STATES = (RequestState.SUBMITTED, RequestState.FORWARDED, RequestState.IN_PROGRESS)


class FollowUp(enum.StrEnum):
    """What the filing liaison said after the city closed the request."""

    CONFIRMED = "confirmed"
    DISPUTED = "disputed"


class ServiceRequest(db.Model):
    """A filed request: what, where, for whom (with consent), and where it stands."""

    __tablename__ = "service_request"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    # Unguessable id for the neighbor's public status page and receipt QR (no personal data there).
    public_token: Mapped[str] = mapped_column(String(32), unique=True, info=NOT_PII)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("request_batch.id", ondelete="SET NULL"), info=NOT_PII)
    # The batch row position it was filed from (with batch_id: filed once per row).
    batch_position: Mapped[int | None] = mapped_column(Integer, info=NOT_PII)
    liaison_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), info=NOT_PII)
    service_type_id: Mapped[int] = mapped_column(ForeignKey("service_type.id", ondelete="RESTRICT"), info=NOT_PII)
    address: Mapped[str] = mapped_column(String(255), default="", info=NOT_PII)
    # Lowercased, abbreviations unified, punctuation dropped: the duplicate check compares these.
    normalized_address: Mapped[str] = mapped_column(String(255), default="", info=NOT_PII)
    zipcode: Mapped[str] = mapped_column(String(10), default="", info=NOT_PII)
    lat: Mapped[float | None] = mapped_column(Float, info=NOT_PII)
    long: Mapped[float | None] = mapped_column(Float, info=NOT_PII)
    description: Mapped[str] = mapped_column(Text, default="", info=NOT_PII)
    # {attribute code: value or [values]}
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, info=NOT_PII)
    neighbor_first_name: Mapped[str] = mapped_column(String(100), default="", info=PII)
    neighbor_last_name: Mapped[str] = mapped_column(String(100), default="", info=PII)
    neighbor_phone: Mapped[str] = mapped_column(String(40), default="", info=PII)
    neighbor_email: Mapped[str] = mapped_column(String(254), default="", info=PII)
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False, info=NOT_PII)
    neighborhood: Mapped[str] = mapped_column(String(120), default="", info=NOT_PII)
    state: Mapped[RequestState] = mapped_column(
        string_enum(RequestState, "request_state"), default=RequestState.SUBMITTED, info=NOT_PII
    )
    status_note: Mapped[str] = mapped_column(Text, default="", info=NOT_PII)
    # Filed outside the liaison's neighborhood: a coordinator reviews it.
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, info=NOT_PII)
    review_reason: Mapped[str] = mapped_column(String(255), default="", info=NOT_PII)
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_request.id", ondelete="SET NULL"), info=NOT_PII
    )
    # The city's 311 id or token once forwarded (Open311 service_request_id / token).
    external_id: Mapped[str] = mapped_column(String(64), default="", info=NOT_PII)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    # Forwarding to the city's Open311 endpoint (`flask liaison forward`): a worker claims a request
    # (forward_claimed_at) before sending it, so two workers never send the same one.
    forward_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0", info=NOT_PII)
    forward_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    forward_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    forward_error: Mapped[str] = mapped_column(String(255), default="", server_default="", info=NOT_PII)
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    # Closure follow-up: the liaison confirms the fix or disputes it (a dispute refiles the request).
    follow_up: Mapped[FollowUp | None] = mapped_column(string_enum(FollowUp, "follow_up"), info=NOT_PII)
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    refiled_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_request.id", ondelete="SET NULL"), info=NOT_PII
    )

    service_type: Mapped[ServiceType] = relationship()
    batch: Mapped[RequestBatch | None] = relationship()
    liaison: Mapped[User | None] = relationship()
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestEvent.occurred_at"
    )

    __table_args__ = (
        UniqueConstraint("batch_id", "batch_position"),
        Index("ix_service_request_liaison_requested", "liaison_id", "requested_at"),
        Index("ix_service_request_state_requested", "state", "requested_at"),
        Index("ix_service_request_requested", "requested_at"),
        Index("ix_service_request_duplicate_key", "service_type_id", "normalized_address", "requested_at"),
        Index("ix_service_request_neighborhood", "neighborhood"),
        Index("ix_service_request_batch", "batch_id"),
        Index("ix_service_request_needs_review", "needs_review"),
        Index("ix_service_request_forward_queue", "state", "forward_next_at"),
        Index("ix_service_request_refiled_from", "refiled_from_id"),
    )

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def open311_status(self) -> str:
        return "open" if self.is_open else "closed"


class RequestEvent(db.Model):
    """One line of a request's history: filed, status changed, forwarded, reviewed."""

    __tablename__ = "request_event"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id", ondelete="CASCADE"), info=NOT_PII)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), info=NOT_PII)
    # filed, status_changed, forwarded, review_cleared
    kind: Mapped[str] = mapped_column(String(32), info=NOT_PII)
    from_state: Mapped[str | None] = mapped_column(String(24), info=NOT_PII)
    to_state: Mapped[str | None] = mapped_column(String(24), info=NOT_PII)
    # A coordinator's note to the liaison; must not repeat a neighbor's contact data.
    note: Mapped[str] = mapped_column(Text, default="", info=NOT_PII)

    request: Mapped[ServiceRequest] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_request_event_request", "request_id", "occurred_at"),)
