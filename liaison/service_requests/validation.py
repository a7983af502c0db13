"""Checking one request row, typed in the batch grid or read from an upload.

`validate_row` is a pure function over a `Catalog` loaded once per request (`load_catalog`):
strings in, a message per bad field and typed values out. It runs for every row of a 5,000-row
upload, so lookups are precomputed dictionaries and no query is made per row. Messages are
plain language, name the field and never repeat what was typed (rows hold neighbors' data).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from liaison.extensions import db
from liaison.service_requests.models import (
    NEIGHBOR_FIELDS,
    ROW_FIELDS,
    AttributeDatatype,
    ServiceAttribute,
    ServiceType,
)

# Longest text accepted per field (the database column's length where there is one).
FIELD_MAX_LENGTHS: dict[str, int] = {
    "service_code": 200,
    "address": 255,
    "zipcode": 10,
    "lat": 40,
    "long": 40,
    "description": 4000,
    "neighbor_first_name": 100,
    "neighbor_last_name": 100,
    "neighbor_phone": 40,
    "neighbor_email": 254,
    "contact_consent": 10,
}
STRING_MAX_LENGTH = 255
TEXT_MAX_LENGTH = 4000
NUMBER_MAX_LENGTH = 40
DATETIME_MAX_LENGTH = 40
LIST_ITEM_MAX_LENGTH = 255

FIELD_LABELS: dict[str, Any] = {
    "service_code": _l("Service"),
    "address": _l("Address"),
    "zipcode": _l("ZIP code"),
    "lat": _l("Latitude"),
    "long": _l("Longitude"),
    "description": _l("Description"),
    "neighbor_first_name": _l("Neighbor's first name"),
    "neighbor_last_name": _l("Neighbor's last name"),
    "neighbor_phone": _l("Neighbor's phone"),
    "neighbor_email": _l("Neighbor's email"),
    "contact_consent": _l("Contact consent"),
}

CONSENT_YES = frozenset({"yes", "y", "true", "1", "sí", "si", "s"})
CONSENT_NO = frozenset({"no", "n", "false", "0", ""})

_ZIPCODE = re.compile(r"^\d{5}(?:-\d{4})?$")
_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_PHONE_CHARACTERS = re.compile(r"^[\d\s()+\-.]+$")
_NON_DIGITS = re.compile(r"\D")
# A cheap shape check first, so the full email check only runs on plausible addresses.
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Plain ASCII addresses that email_validator always accepts; checking them with it costs ~35 µs
# each, which alone would take 5,000 rows over the time budget. Anything else goes to it.
_EMAIL_PLAIN = re.compile(
    r"^[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_SPECIAL_USE_DOMAINS = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_LIST_SEPARATORS = re.compile(r"[;|]")
_DATETIME_SHORT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}$")

_MSG_SERVICE_MISSING = _l("Enter a service code or service name.")
_MSG_SERVICE_UNKNOWN = _l("There is no active service with this code or name. Use a code from the template.")
_MSG_ADDRESS_MISSING = _l("Enter the address, or both latitude and longitude.")
_MSG_ZIPCODE = _l("Enter a 5-digit ZIP code, like 19143, or ZIP+4, like 19143-1234.")
_MSG_LAT = _l("Enter a latitude between -90 and 90, like 39.95.")
_MSG_LONG = _l("Enter a longitude between -180 and 180, like -75.16.")
_MSG_LAT_WITHOUT_LONG = _l("Enter the longitude too, or leave the latitude empty.")
_MSG_LONG_WITHOUT_LAT = _l("Enter the latitude too, or leave the longitude empty.")
_MSG_DESCRIPTION_MISSING = _l("Describe the problem in the description.")
_MSG_PHONE = _l("Enter the neighbor's phone number with 7 to 15 digits, like 215-555-0123.")
_MSG_EMAIL = _l("Enter the neighbor's email address like name@example.org.")
_MSG_CONSENT = _l("Write yes or no for contact consent.")
_MSG_CONSENT_NEEDED = _l("Tick consent or leave the neighbor's contact details empty.")


@dataclass(frozen=True)
class AttributeSpec:
    """What an attribute accepts, precomputed for fast checks."""

    id: int
    code: str
    datatype: AttributeDatatype
    required: bool
    description: Mapping[str, str]
    # Lowercased key or localized name → key (list datatypes only).
    choices: Mapping[str, str]
    keys: tuple[str, ...]

    def label(self) -> str:
        """The attribute's question in the current language (its code when it has none)."""
        return _localized(self.description) or self.code


@dataclass(frozen=True)
class ServiceSpec:
    """A service and the attributes a row for it must or may answer."""

    id: int
    code: str
    attributes: Mapping[str, AttributeSpec]


@dataclass
class Catalog:
    """The active services with their attributes, loaded once and looked up many times."""

    types: list[ServiceType]
    specs: dict[int, ServiceSpec] = field(default_factory=dict)
    _by_code: dict[str, ServiceType] = field(default_factory=dict)
    _by_name: dict[str, ServiceType] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for service_type in self.types:
            self._by_code[service_type.code.strip().lower()] = service_type
            for name in (service_type.name or {}).values():
                if isinstance(name, str) and name.strip():
                    self._by_name.setdefault(_fold(name), service_type)
            self.specs[service_type.id] = _service_spec(service_type)

    def by_code(self, code: str) -> ServiceType | None:
        """The active service with this code (any letter case), or None."""
        return self._by_code.get(code.strip().lower())

    def by_name(self, text: str) -> ServiceType | None:
        """The active service with this English or Spanish name (any letter case), or None."""
        return self._by_name.get(_fold(text))

    def find(self, text: str) -> ServiceType | None:
        """The active service named by its code or by its name."""
        return self.by_code(text) or self.by_name(text)

    def attribute_codes(self) -> list[str]:
        """Every attribute code of the catalog once, in catalog order (the upload's attribute columns)."""
        codes: dict[str, None] = {}
        for service_type in self.types:
            for attribute in self.specs[service_type.id].attributes.values():
                codes.setdefault(attribute.code, None)
        return list(codes)


@dataclass
class RowCheck:
    """The outcome of checking a row: messages by field, and the typed values."""

    errors: dict[str, str]
    # Only complete and trustworthy when `errors` is empty.
    cleaned: dict[str, Any]

    @property
    def ok(self) -> bool:
        return not self.errors


def load_catalog() -> Catalog:
    """All active service types with their attributes, in two queries."""
    types = db.session.scalars(
        select(ServiceType)
        .where(ServiceType.active.is_(True))
        .options(selectinload(ServiceType.attributes))
        .order_by(ServiceType.position, ServiceType.id)
    ).all()
    return Catalog(types=list(types))


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _localized(texts: Mapping[str, str] | None) -> str:
    if not texts:
        return ""
    locale = get_locale()
    language = locale.language if locale is not None else "en"
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


def _choice_entries(attribute: ServiceAttribute) -> tuple[dict[str, str], tuple[str, ...]]:
    choices: dict[str, str] = {}
    keys: list[str] = []
    for entry in attribute.values or []:
        if not isinstance(entry, Mapping) or "key" not in entry:
            continue
        key = str(entry["key"])
        keys.append(key)
        choices[_fold(key)] = key
        names = entry.get("name")
        names = names.values() if isinstance(names, Mapping) else [names]
        for name in names:
            if isinstance(name, str) and name.strip():
                choices.setdefault(_fold(name), key)
    return choices, tuple(keys)


def _service_spec(service_type: ServiceType) -> ServiceSpec:
    attributes: dict[str, AttributeSpec] = {}
    for attribute in service_type.attributes:
        if not attribute.variable:
            continue  # informational text only: nothing to answer
        choices, keys = _choice_entries(attribute)
        attributes[attribute.code] = AttributeSpec(
            id=attribute.id,
            code=attribute.code,
            datatype=AttributeDatatype(attribute.datatype),
            required=attribute.required,
            description=dict(attribute.description or {}),
            choices=choices,
            keys=keys,
        )
    return ServiceSpec(id=service_type.id, code=service_type.code, attributes=attributes)


# Addresses ------------------------------------------------------------------------------------

ADDRESS_ABBREVIATIONS: dict[str, str] = {
    "street": "st",
    "str": "st",
    "avenue": "ave",
    "av": "ave",
    "avn": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "blv": "blvd",
    "drive": "dr",
    "drv": "dr",
    "lane": "ln",
    "place": "pl",
    "court": "ct",
    "crt": "ct",
    "terrace": "ter",
    "terr": "ter",
    "parkway": "pkwy",
    "pky": "pkwy",
    "highway": "hwy",
    "square": "sq",
    "circle": "cir",
    "alley": "aly",
    "expressway": "expy",
    "pike": "pk",
    "way": "wy",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "apartment": "apt",
    "suite": "ste",
    "unit": "unit",
    "floor": "fl",
    "saint": "st",
    "mount": "mt",
    "first": "1st",
    "second": "2nd",
    "third": "3rd",
    "fourth": "4th",
    "fifth": "5th",
}
_ADDRESS_PUNCTUATION = re.compile(r"[^\w\s]|_")


def normalize_address(text: str) -> str:
    """An address as the duplicate check compares it: lowercase, no punctuation, suffixes unified.

    "1200 Cedar Avenue, North" and "1200 cedar ave. n" give the same text.
    """
    folded = text.lower()
    if not folded.isascii():
        folded = unicodedata.normalize("NFKD", text.casefold())
        folded = "".join(character for character in folded if not unicodedata.combining(character))
    words = _ADDRESS_PUNCTUATION.sub(" ", folded).split()
    get = ADDRESS_ABBREVIATIONS.get
    return " ".join([get(word, word) for word in words])[:255]


# Row checks -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return str(value).strip()


def _too_long(label: Any, longest: int) -> str:
    return gettext("%(field)s can be at most %(max)d characters.", field=label, max=longest)


def _has_nul(label: Any) -> str:
    return gettext("%(field)s contains a hidden NUL character. Retype it.", field=label)


def _coordinate(text: str, low: float, high: float) -> float | None:
    if not _DECIMAL.match(text):
        return None
    number = float(text)
    return number if low <= number <= high else None


def _email_ok(text: str) -> bool:
    if not _EMAIL_SHAPE.match(text):
        return False
    if (
        _EMAIL_PLAIN.match(text)
        and len(text.partition("@")[0]) <= 64
        and text.rsplit(".", 1)[1].lower() not in _SPECIAL_USE_DOMAINS
    ):
        return True
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def validate_row(values: Mapping[str, Any], catalog: Catalog, *, upload: bool = False) -> RowCheck:
    """Check one row of strings as typed or uploaded; never raises for bad content.

    `upload=True` also flags answers to attributes the row's service does not have (a column
    meant for another service); the grid simply drops them.
    """
    errors: dict[str, str] = {}
    text: dict[str, str] = {}
    for name in ROW_FIELDS:
        value = values.get(name)
        value = value.strip() if value.__class__ is str else _text(value)
        if "\x00" in value:
            errors[name] = _has_nul(FIELD_LABELS[name])
            value = ""
        elif len(value) > FIELD_MAX_LENGTHS[name]:
            errors[name] = _too_long(FIELD_LABELS[name], FIELD_MAX_LENGTHS[name])
            value = ""
        text[name] = value
    if not text["service_code"] and "service_code" not in errors:
        text["service_code"] = _text(values.get("service"))[: FIELD_MAX_LENGTHS["service_code"]]

    cleaned: dict[str, Any] = {
        "service_type_id": None,
        "address": text["address"],
        "normalized_address": normalize_address(text["address"]) if text["address"] else "",
        "zipcode": text["zipcode"],
        "lat": None,
        "long": None,
        "description": text["description"],
        "attributes": {},
        "neighbor_first_name": text["neighbor_first_name"],
        "neighbor_last_name": text["neighbor_last_name"],
        "neighbor_phone": text["neighbor_phone"],
        "neighbor_email": text["neighbor_email"],
        "contact_consent": False,
    }

    service_type = None
    if text["service_code"]:
        service_type = catalog.find(text["service_code"])
        if service_type is None:
            errors["service_code"] = str(_MSG_SERVICE_UNKNOWN)
        else:
            cleaned["service_type_id"] = service_type.id
    elif "service_code" not in errors:
        errors["service_code"] = str(_MSG_SERVICE_MISSING)

    if text["zipcode"] and not _ZIPCODE.match(text["zipcode"]):
        errors["zipcode"] = str(_MSG_ZIPCODE)

    lat = long = None
    if text["lat"]:
        lat = _coordinate(text["lat"], -90.0, 90.0)
        if lat is None:
            errors["lat"] = str(_MSG_LAT)
    if text["long"]:
        long = _coordinate(text["long"], -180.0, 180.0)
        if long is None:
            errors["long"] = str(_MSG_LONG)
    if text["lat"] and not text["long"] and "long" not in errors:
        errors["long"] = str(_MSG_LAT_WITHOUT_LONG)
    elif text["long"] and not text["lat"] and "lat" not in errors:
        errors["lat"] = str(_MSG_LONG_WITHOUT_LAT)
    has_point = lat is not None and long is not None
    if has_point:
        cleaned["lat"], cleaned["long"] = lat, long
    if not text["address"] and not has_point and "address" not in errors and not (text["lat"] or text["long"]):
        errors["address"] = str(_MSG_ADDRESS_MISSING)

    if not text["description"] and "description" not in errors:
        errors["description"] = str(_MSG_DESCRIPTION_MISSING)

    phone = text["neighbor_phone"]
    if phone and not (_PHONE_CHARACTERS.match(phone) and 7 <= len(_NON_DIGITS.sub("", phone)) <= 15):
        errors["neighbor_phone"] = str(_MSG_PHONE)
    email = text["neighbor_email"]
    if email and not _email_ok(email):
        errors["neighbor_email"] = str(_MSG_EMAIL)

    consent_text = text["contact_consent"].casefold()
    if consent_text in CONSENT_YES:
        cleaned["contact_consent"] = True
    elif consent_text not in CONSENT_NO and "contact_consent" not in errors:
        errors["contact_consent"] = str(_MSG_CONSENT)
    elif "contact_consent" not in errors and any(text[name] or name in errors for name in NEIGHBOR_FIELDS):
        errors["contact_consent"] = str(_MSG_CONSENT_NEEDED)

    answers = values.get("attributes")
    answers = answers if isinstance(answers, Mapping) else {}
    if service_type is not None:
        spec = catalog.specs[service_type.id]
        cleaned["attributes"] = _check_attributes(spec, answers, errors, upload=upload)
    return RowCheck(errors=errors, cleaned=cleaned)


def _is_blank(answer: Any) -> bool:
    if answer is None:
        return True
    if isinstance(answer, list | tuple):
        return all(_is_blank(item) for item in answer)
    return not _text(answer)


def _check_attributes(
    spec: ServiceSpec, answers: Mapping[str, Any], errors: dict[str, str], *, upload: bool
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if upload:
        for code, answer in answers.items():
            if code not in spec.attributes and not _is_blank(answer):
                errors[f"attribute:{code}"] = gettext("This service has no field %(code)s.", code=code)
    for code, attribute in spec.attributes.items():
        key = f"attribute:{code}"
        answer = answers.get(code)
        if _is_blank(answer):
            if attribute.required:
                errors[key] = gettext("%(field)s: an answer is required for this service.", field=attribute.label())
            continue
        value, message = _check_answer(attribute, answer)
        if message:
            errors[key] = message
        else:
            cleaned[code] = value
    return cleaned


def _check_answer(attribute: AttributeSpec, answer: Any) -> tuple[Any, str | None]:
    datatype = attribute.datatype
    if datatype == AttributeDatatype.MULTIVALUELIST:
        return _check_multi(attribute, answer)
    if isinstance(answer, list | tuple):
        parts = [_text(item) for item in answer if _text(item)]
        if len(parts) != 1:
            return None, gettext("%(field)s takes one answer only.", field=attribute.label())
        answer = parts[0]
    text = _text(answer)
    if "\x00" in text:
        return None, _has_nul(attribute.label())
    if datatype == AttributeDatatype.STRING:
        if len(text) > STRING_MAX_LENGTH:
            return None, _too_long(attribute.label(), STRING_MAX_LENGTH)
        return text, None
    if datatype == AttributeDatatype.TEXT:
        if len(text) > TEXT_MAX_LENGTH:
            return None, _too_long(attribute.label(), TEXT_MAX_LENGTH)
        return text, None
    if datatype == AttributeDatatype.NUMBER:
        if len(text) > NUMBER_MAX_LENGTH or not _DECIMAL.match(text):
            return None, gettext("%(field)s: enter a number, like 3 or 2.5.", field=attribute.label())
        number = float(text)
        return (int(number) if "." not in text and abs(number) < 2**53 else number), None
    if datatype == AttributeDatatype.DATETIME:
        moment = _parse_datetime(text)
        if moment is None:
            return None, gettext("%(field)s: enter a date and time like 2025-03-14 18:30.", field=attribute.label())
        return moment, None
    # singlevaluelist
    key = attribute.choices.get(_fold(text)) if len(text) <= LIST_ITEM_MAX_LENGTH else None
    if key is None:
        return None, gettext(
            "%(field)s: choose one of %(choices)s.", field=attribute.label(), choices=", ".join(attribute.keys)
        )
    return key, None


def _check_multi(attribute: AttributeSpec, answer: Any) -> tuple[Any, str | None]:
    items = list(answer) if isinstance(answer, list | tuple) else _LIST_SEPARATORS.split(_text(answer))
    keys: list[str] = []
    for item in items:
        text = _text(item)
        if not text:
            continue
        if "\x00" in text:
            return None, _has_nul(attribute.label())
        key = attribute.choices.get(_fold(text)) if len(text) <= LIST_ITEM_MAX_LENGTH else None
        if key is None:
            return None, gettext(
                "%(field)s: each answer must be one of %(choices)s.",
                field=attribute.label(),
                choices=", ".join(attribute.keys),
            )
        if key not in keys:
            keys.append(key)
    return keys, None


def _parse_datetime(text: str) -> str | None:
    if len(text) > DATETIME_MAX_LENGTH or not text[:4].isdigit():
        return None
    candidate = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if _DATETIME_SHORT.match(text) or len(text) == 10:
        return moment.isoformat(timespec="minutes")
    return moment.isoformat()
