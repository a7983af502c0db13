"""iCalendar (RFC 5545) files for training sessions, written by hand: the format is small.

Every value a coordinator typed is escaped (backslash, semicolon, comma, newline) so a title
can never end its line and start a property or component of its own; lines are folded at 75
octets without splitting a UTF-8 character; lines end with CRLF.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask_babel import gettext as _

if TYPE_CHECKING:
    from liaison.enrollment.models import TrainingSession

CRLF = "\r\n"
MAX_LINE_OCTETS = 75
PRODUCT_ID = "-//Liaison//Training sessions//EN"

# Control characters are not allowed in TEXT values (RFC 5545 3.3.11) except HTAB.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NEWLINE = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85|\x0b|\x0c")


@dataclass(frozen=True)
class CalendarEvent:
    """One VEVENT: times are timezone-aware and written in UTC."""

    uid: str
    starts_at: datetime
    ends_at: datetime
    summary: str
    location: str = ""
    url: str = ""
    description: str = ""


def escape_text(value: str) -> str:
    """A TEXT property value: backslash, semicolon and comma escaped, every newline as \\n."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = _NEWLINE.sub("\\\\n", value)
    return _CONTROL.sub("", value)


def clean_uri(value: str) -> str:
    """A URI value is not escaped, so anything that could break the line is dropped."""
    return re.sub(r"[\x00-\x20\x7f\u2028\u2029\x85]", "", value)


def format_utc(moment: datetime) -> str:
    """A DATE-TIME in UTC form, e.g. 20250301T180000Z."""
    if moment.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets, never inside a UTF-8 character."""
    pieces: list[str] = []
    current = ""
    current_octets = 0
    limit = MAX_LINE_OCTETS
    for character in line:
        size = len(character.encode("utf-8"))
        if current_octets + size > limit:
            pieces.append(current)
            # A continuation line starts with one space, which counts toward its 75 octets.
            current, current_octets, limit = " ", 1, MAX_LINE_OCTETS
        current += character
        current_octets += size
    pieces.append(current)
    return CRLF.join(pieces)


def _event_lines(event: CalendarEvent, stamp: datetime) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(event.uid)}",
        f"DTSTAMP:{format_utc(stamp)}",
        f"DTSTART:{format_utc(event.starts_at)}",
        f"DTEND:{format_utc(event.ends_at)}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.url:
        lines.append(f"URL:{clean_uri(event.url)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    lines.append("END:VEVENT")
    return lines


def render_calendar(events: Sequence[CalendarEvent] | Iterable[CalendarEvent], *, name: str, now: datetime) -> bytes:
    """A complete VCALENDAR with one VEVENT per event, as UTF-8 bytes with CRLF line ends."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for event in events:
        lines.extend(_event_lines(event, now))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines).encode("utf-8")


def session_uid(session_id: int) -> str:
    """A UID that stays the same for a session, so calendars update it instead of adding twice."""
    return f"session-{session_id}@liaison"


def session_event(session: TrainingSession, *, cohort_name: str) -> CalendarEvent:
    """The calendar entry for a training session, in the reader's language."""
    from liaison.enrollment.models import SessionKind

    virtual = session.kind is SessionKind.VIRTUAL
    description = [_("Training session of %(cohort)s.", cohort=cohort_name)]
    if virtual and session.link:
        description.append(_("Join online: %(link)s", link=session.link))
    if session.notes:
        description.append(session.notes)
    return CalendarEvent(
        uid=session_uid(session.id),
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        summary=session.title,
        location=_("Online") if virtual else session.location,
        url=session.link if virtual else "",
        description="\n\n".join(description),
    )
