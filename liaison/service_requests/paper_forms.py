"""The meeting packet's options form (a GET form: it changes nothing, so it has no CSRF token).

Shape only; which periods, neighborhoods and languages are allowed is `paper`'s call, so a stale
or odd value comes back from the service with a plain message next to its field.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import InputRequired

from liaison.i18n import LANGUAGE_NAMES
from liaison.service_requests.paper import PACKET_PERIOD_DEFAULT, PACKET_PERIODS, PacketOptions


def _period_choices() -> list[tuple[str, str]]:
    return [(str(days), str(_l("The last %(days)d days", days=days))) for days in PACKET_PERIODS]


class PacketForm(FlaskForm):
    """Which area, which period, which language."""

    class Meta:
        csrf = False

    # Every list always has a choice selected: InputRequired marks the fields as not optional.

    neighborhood = SelectField(_l("Neighborhood"), choices=[], validate_choice=False, validators=[InputRequired()])
    period = SelectField(
        _l("Period"),
        choices=_period_choices,
        default=str(PACKET_PERIOD_DEFAULT),
        validate_choice=False,
        validators=[InputRequired()],
        description=_l(
            "Requests filed in this period are counted; overdue requests are listed whenever they were filed."
        ),
    )
    language = SelectField(
        _l("Language of the packet"), choices=[], validate_choice=False, validators=[InputRequired()]
    )

    def set_choices(self, neighborhoods: Iterable[str], languages: Iterable[str]) -> None:
        """Fill the lists: the liaison's areas and the program's languages."""
        self.neighborhood.choices = [(name, name) for name in neighborhoods]
        self.language.choices = [(code, LANGUAGE_NAMES.get(code, code)) for code in languages]

    def to_options(self, default_language: str) -> PacketOptions:
        """The options as typed (checked by `paper.check_packet_options`)."""
        period_text = (self.period.data or "").strip()
        period = int(period_text) if period_text.isascii() and period_text.isdigit() and len(period_text) <= 4 else -1
        if not period_text:
            period = PACKET_PERIOD_DEFAULT
        return PacketOptions(
            period_days=period,
            neighborhood=(self.neighborhood.data or "").strip(),
            language=(self.language.data or "").strip() or default_language,
        )
