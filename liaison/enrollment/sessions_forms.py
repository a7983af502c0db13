"""Forms for scheduling training sessions: shape only, the rules live in enrollment.sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import get_timezone_name
from flask import current_app
from flask_babel import LazyString, get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, RadioField, StringField, TextAreaField, TimeField, URLField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from liaison.enrollment.models import SessionKind, TrainingSession
from liaison.enrollment.sessions import SessionInput
from liaison.errors import DomainError
from liaison.forms import apply_domain_error


def local_timezone() -> ZoneInfo:
    """The program's time zone (BABEL_DEFAULT_TIMEZONE): times are typed and shown in it."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def to_utc(day: date, clock: time, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a local date and time, or None when that wall-clock time does not
    exist there (the hour skipped when clocks go forward)."""
    local = datetime.combine(day, clock, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


# Browsers send HH:MM, or HH:MM:SS when the input allows seconds.
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]
# The service names the stored columns; the form asks for a date and two times.
_SERVICE_FIELDS = {"starts_at": "start_time", "ends_at": "end_time"}


def _without_nul(value: object) -> object:
    # PostgreSQL refuses NUL in text and no person types one (SECURITY.md pitfall 11).
    return value.replace("\x00", "") if isinstance(value, str) else value


TEXT_FILTERS = [_without_nul]


def _time_zone_hint() -> str:
    zone_name = get_timezone_name(local_timezone(), "long", locale=get_locale())
    return gettext("In %(zone)s.", zone=zone_name)


def kind_choices() -> list[tuple[str, str]]:
    return [
        (SessionKind.IN_PERSON.value, str(_l("In person"))),
        (SessionKind.VIRTUAL.value, str(_l("Online (virtual)"))),
    ]


class SessionForm(FlaskForm):
    """Title, in person or online, the local date and times, where, capacity and notes."""

    title = StringField(
        _l("Title"),
        filters=TEXT_FILTERS,
        validators=[DataRequired(_l("Give the session a title.")), Length(max=200)],
        description=_l("For example: How 311 works."),
    )
    kind = RadioField(
        _l("Where does it happen?"),
        choices=kind_choices,
        default=SessionKind.IN_PERSON.value,
        validators=[InputRequired(_l("Choose in person or online."))],
    )
    day = DateField(
        _l("Date"),
        validators=[InputRequired(_l("Enter the date of the session."))],
        invalid_value_message=_l("Enter a real date, like 2026-03-15."),
    )
    start_time = TimeField(
        _l("Start time"),
        validators=[InputRequired(_l("Enter the start time."))],
        format=TIME_FORMATS,
        invalid_value_message=_l("Enter a time like 18:30."),
        description=LazyString(_time_zone_hint),
    )
    end_time = TimeField(
        _l("End time"),
        validators=[InputRequired(_l("Enter the end time."))],
        format=TIME_FORMATS,
        invalid_value_message=_l("Enter a time like 20:00."),
        description=LazyString(_time_zone_hint),
    )
    location = StringField(
        _l("Place"),
        filters=TEXT_FILTERS,
        validators=[Optional(), Length(max=300)],
        description=_l("Address and room, for sessions in person."),
        render_kw={"autocomplete": "off", "required": False},
    )
    link = URLField(
        _l("Link to join"),
        filters=TEXT_FILTERS,
        validators=[Optional(), Length(max=500)],
        description=_l("For online sessions. It starts with https://"),
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none", "required": False},
    )
    capacity = IntegerField(
        _l("Number of places"),
        validators=[
            Optional(),
            NumberRange(min=1, max=10_000, message=_l("Enter a number of places between 1 and 10,000.")),
        ],
        description=_l("Leave empty when there is no limit."),
        render_kw={"inputmode": "numeric"},
    )
    notes = TextAreaField(
        _l("Notes for liaisons"),
        filters=TEXT_FILTERS,
        validators=[Optional(), Length(max=2000)],
        description=_l("What to bring, how to get in, who to ask for."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Each is needed for its kind of session (the service checks which), so neither is
        # labelled "optional"; the browser is not asked to require them.
        self.location.flags.required = True
        self.link.flags.required = True

    def validate_day(self, field: DateField) -> None:
        # Far-off years overflow when converted to UTC and are never meant.
        if field.data and not 2000 <= field.data.year <= 2100:
            raise ValidationError(_l("Enter a date between 2000 and 2100."))

    def validate_start_time(self, field: TimeField) -> None:
        if self._day_ok() and field.data and to_utc(self.day.data, field.data, local_timezone()) is None:
            raise ValidationError(_l("This time does not exist on that day: the clocks go forward."))

    def validate_end_time(self, field: TimeField) -> None:
        if self._day_ok() and field.data and to_utc(self.day.data, field.data, local_timezone()) is None:
            raise ValidationError(_l("This time does not exist on that day: the clocks go forward."))

    def show_error(self, error: DomainError) -> None:
        """Put a service's refusal next to the field the coordinator typed it in."""
        if error.field in _SERVICE_FIELDS:
            error.field = _SERVICE_FIELDS[error.field]
        apply_domain_error(self, error)

    def _day_ok(self) -> bool:
        return bool(self.day.data) and not self.day.errors

    def to_input(self) -> SessionInput:
        """What the coordinator typed, as the service takes it (times in UTC)."""
        zone = local_timezone()
        kind = SessionKind(self.kind.data)
        starts_at = to_utc(self.day.data, self.start_time.data, zone)
        ends_at = to_utc(self.day.data, self.end_time.data, zone)
        if starts_at is None or ends_at is None:
            raise ValueError("to_input() called before validate()")
        return SessionInput(
            title=self.title.data or "",
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            # Only the field that fits the kind is kept, so a stale place or link never lingers.
            location=(self.location.data or "") if kind is SessionKind.IN_PERSON else "",
            link=(self.link.data or "") if kind is SessionKind.VIRTUAL else "",
            capacity=self.capacity.data,
            notes=self.notes.data or "",
        )

    @classmethod
    def for_session(cls, session: TrainingSession) -> SessionForm:
        """The form filled with a session's details, times shown in the local time zone."""
        zone = local_timezone()
        starts = session.starts_at.astimezone(zone)
        ends = session.ends_at.astimezone(zone)
        return cls(
            formdata=None,
            data={
                "title": session.title,
                "kind": session.kind.value,
                "day": starts.date(),
                "start_time": starts.time().replace(tzinfo=None),
                "end_time": ends.time().replace(tzinfo=None),
                "location": session.location,
                "link": session.link,
                "capacity": session.capacity,
                "notes": session.notes,
            },
        )


class CancelSessionForm(FlaskForm):
    """Cancelling deletes the session's attendance, so the coordinator confirms it."""

    confirm = BooleanField(
        _l("Yes, cancel this session and delete its attendance records"),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
