"""The service catalog (Open311 services and their attribute definitions) and the neighborhoods.

Admins edit it; every change is audited (`catalog.*`). A service type that has requests is never
deleted (deactivating hides it from new filings and keeps its requests); its code, and its
attributes' codes, stay fixed once requests were filed under them, because uploads, exports and
Open311 clients name them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from liaison.audit import record_event
from liaison.auth.models import User
from liaison.errors import Conflict, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests.models import (
    AttributeDatatype,
    Neighborhood,
    ServiceAttribute,
    ServiceRequest,
    ServiceType,
)

logger = logging.getLogger(__name__)

CATALOG_DATA = Path(__file__).with_name("catalog_data.json")

CODE_MAX = 32
ATTRIBUTE_CODE_MAX = 64
VALUE_KEY_MAX = 64
NAME_MAX = 200
DESCRIPTION_MAX = 2_000
GROUP_MAX = 100
KEYWORDS_MAX = 500
QUESTION_MAX = 500
HELP_MAX = 500
VALUE_NAME_MAX = 200
NEIGHBORHOOD_NAME_MAX = 120
# Bounds that keep a service's page and a liaison's row form short enough to use on a phone.
MAX_ATTRIBUTES = 30
MAX_VALUES = 100
MAX_ZIPCODES = 60

KINDS = ("realtime", "batch", "blackbox")
LIST_DATATYPES = (AttributeDatatype.SINGLEVALUELIST, AttributeDatatype.MULTIVALUELIST)

SERVICE_CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9-]*")
ATTRIBUTE_CODE_PATTERN = re.compile(r"[a-z0-9_]+")
VALUE_KEY_PATTERN = re.compile(r"[a-z0-9_-]+")
ZIPCODE_PATTERN = re.compile(r"\d{5}")


def _no_nul(text: str) -> str:
    # PostgreSQL refuses NUL in text (SECURITY.md pitfall 11); nobody means to type one.
    return text.replace("\x00", "")


def _clean(text: str | None) -> str:
    return _no_nul(text or "").strip()


def _texts(texts: Mapping[str, str | None]) -> dict[str, str]:
    """Localized texts without blank languages."""
    return {language: _clean(text) for language, text in texts.items() if _clean(text)}


def _too_long(texts: Mapping[str, str], maximum: int, field_prefix: str) -> None:
    for language, text in texts.items():
        if len(text) > maximum:
            raise ValidationFailed(
                _l("Use at most %(max)d characters.", max=maximum), field=f"{field_prefix}_{language}"
            )


# Service types -------------------------------------------------------------------------------


@dataclass
class ServiceTypeInput:
    """What an admin edits on a service type (texts per language)."""

    code: str
    name: dict[str, str]
    group: dict[str, str]
    description: dict[str, str] = field(default_factory=dict)
    keywords: str = ""
    kind: str = "realtime"
    active: bool = True


def normalize_keywords(text: str) -> str:
    """Comma-separated keywords, trimmed, without blanks or repeats (Open311 `keywords`)."""
    seen: dict[str, str] = {}
    for word in _clean(text).split(","):
        word = " ".join(word.split())
        if word and word.lower() not in seen:
            seen[word.lower()] = word
    return ", ".join(seen.values())


def request_count(service_type_id: int) -> int:
    """How many requests were filed for the service type."""
    return (
        db.session.scalar(
            select(func.count()).select_from(ServiceRequest).where(ServiceRequest.service_type_id == service_type_id)
        )
        or 0
    )


def _spanish_group_of(english: str, exclude_id: int | None) -> str:
    """The Spanish name another service of the same English group uses, so groups stay consistent."""
    query = select(ServiceType.group).where(ServiceType.id != (exclude_id or 0))
    for group in db.session.scalars(query):
        if (group or {}).get("en", "").lower() == english.lower() and group.get("es"):
            return str(group["es"])
    return ""


def _apply_service_type(service_type: ServiceType, data: ServiceTypeInput, *, has_requests: bool) -> list[str]:
    """Check and copy the input onto the service type; returns the names of the changed fields."""
    code = _clean(data.code).upper()
    if not code:
        raise ValidationFailed(_l("Give the service a code, for example SR-ST01."), field="code")
    if len(code) > CODE_MAX or not SERVICE_CODE_PATTERN.fullmatch(code):
        raise ValidationFailed(
            _l(
                "Use only capital letters, digits and dashes, at most %(max)d characters (for example SR-ST01).",
                max=CODE_MAX,
            ),
            field="code",
        )
    if code != service_type.code:
        if has_requests:
            raise Conflict(
                _l(
                    "Requests were filed under this code, so it cannot change. Create a new service and deactivate this one."
                ),
                field="code",
            )
        taken = db.session.scalar(
            select(ServiceType.id).where(ServiceType.code == code, ServiceType.id != (service_type.id or 0))
        )
        if taken is not None:
            raise ValidationFailed(_l("Another service already uses the code %(code)s.", code=code), field="code")
    name = _texts(data.name)
    if not name.get("en"):
        raise ValidationFailed(_l("Give the service an English name."), field="name_en")
    _too_long(name, NAME_MAX, "name")
    group = _texts(data.group)
    if not group.get("en"):
        raise ValidationFailed(_l("Name the group the service belongs to, for example Streets."), field="group_en")
    _too_long(group, GROUP_MAX, "group")
    if not group.get("es"):
        spanish = _spanish_group_of(group["en"], service_type.id)
        if spanish:
            group["es"] = spanish
    description = _texts(data.description)
    _too_long(description, DESCRIPTION_MAX, "description")
    keywords = normalize_keywords(data.keywords)
    if len(keywords) > KEYWORDS_MAX:
        raise ValidationFailed(_l("Use at most %(max)d characters.", max=KEYWORDS_MAX), field="keywords")
    if data.kind not in KINDS:
        raise ValidationFailed(_l("Choose how the city reports progress on this service."), field="kind")
    new = {
        "code": code,
        "name": name,
        "group": group,
        "description": description,
        "keywords": keywords,
        "kind": data.kind,
        "active": bool(data.active),
    }
    changed = [key for key, value in new.items() if getattr(service_type, key) != value]
    for key, value in new.items():
        setattr(service_type, key, value)
    return changed


def _flush_unique(message: Any, field_name: str) -> None:
    """Flush, turning a unique constraint a concurrent twin hit into a message next to the field."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise ValidationFailed(message, field=field_name) from None


def create_service_type(actor: User, data: ServiceTypeInput) -> ServiceType:
    """A new service type at the end of the catalog."""
    service_type = ServiceType()
    _apply_service_type(service_type, data, has_requests=False)
    service_type.position = (db.session.scalar(select(func.max(ServiceType.position))) or 0) + 1
    db.session.add(service_type)
    _flush_unique(_l("Another service already uses the code %(code)s.", code=service_type.code), "code")
    record_event(actor, "catalog.service_type_created", service_type, code=service_type.code)
    logger.info("service type %s created by user %s", service_type.id, actor.id)
    return service_type


def update_service_type(actor: User, service_type: ServiceType, data: ServiceTypeInput) -> list[str]:
    """Change a service type; deactivating hides it from new filings and keeps its requests."""
    was_active = service_type.active
    changed = _apply_service_type(service_type, data, has_requests=request_count(service_type.id) > 0)
    if not changed:
        return changed
    _flush_unique(_l("Another service already uses the code %(code)s.", code=service_type.code), "code")
    record_event(actor, "catalog.service_type_updated", service_type, code=service_type.code, fields=changed)
    if was_active != service_type.active:
        action = "catalog.service_type_activated" if service_type.active else "catalog.service_type_deactivated"
        record_event(actor, action, service_type, code=service_type.code)
    return changed


def delete_service_type(actor: User, service_type: ServiceType) -> None:
    """Delete a service type no request was filed for (with its attributes)."""
    if request_count(service_type.id):
        raise Conflict(
            _l(
                "Requests were filed for %(name)s, so it cannot be deleted. Deactivate it instead: it disappears from new filings and its requests stay.",
                name=service_type.name.get("en", service_type.code),
            )
        )
    record_event(actor, "catalog.service_type_deleted", service_type, code=service_type.code)
    db.session.delete(service_type)
    db.session.flush()


def get_service_type(service_type_id: int) -> ServiceType:
    """The service type with its attributes (two queries), or NotFound."""
    service_type = db.session.scalar(
        select(ServiceType).where(ServiceType.id == service_type_id).options(selectinload(ServiceType.attributes))
    )
    if service_type is None:
        raise NotFound(_l("There is no such service."))
    return service_type


def catalog_query() -> Select[tuple[ServiceType]]:
    """Every service type, by group (English name), then position and code."""
    group_name = func.lower(ServiceType.group["en"].as_string())
    return select(ServiceType).order_by(group_name, ServiceType.position, ServiceType.code)


@dataclass(frozen=True)
class CatalogEntry:
    """One service type on the catalog page, with its counts."""

    service_type: ServiceType
    attribute_count: int
    request_count: int


@dataclass(frozen=True)
class CatalogGroup:
    """A group of services, in catalog order."""

    name: dict[str, str]
    entries: list[CatalogEntry]


def catalog_groups(service_types: Sequence[ServiceType]) -> list[CatalogGroup]:
    """Group one page of service types with their attribute and request counts (two queries)."""
    ids = [service_type.id for service_type in service_types]
    attribute_counts: dict[int, int] = {}
    request_counts: dict[int, int] = {}
    if ids:
        attribute_counts = dict(
            db.session.execute(
                select(ServiceAttribute.service_type_id, func.count())
                .where(ServiceAttribute.service_type_id.in_(ids))
                .group_by(ServiceAttribute.service_type_id)
            ).all()
        )
        request_counts = dict(
            db.session.execute(
                select(ServiceRequest.service_type_id, func.count())
                .where(ServiceRequest.service_type_id.in_(ids))
                .group_by(ServiceRequest.service_type_id)
            ).all()
        )
    groups: list[CatalogGroup] = []
    for service_type in service_types:
        entry = CatalogEntry(
            service_type, attribute_counts.get(service_type.id, 0), request_counts.get(service_type.id, 0)
        )
        key = (service_type.group or {}).get("en", "").lower()
        if groups and groups[-1].name.get("en", "").lower() == key:
            groups[-1].entries.append(entry)
        else:
            groups.append(CatalogGroup(dict(service_type.group or {}), [entry]))
    return groups


def group_suggestions() -> list[str]:
    """The English group names in use, for the group field's suggestions."""
    names = {(group or {}).get("en", "") for group in db.session.scalars(select(ServiceType.group))}
    return sorted((name for name in names if name), key=str.lower)


# Attributes ----------------------------------------------------------------------------------


@dataclass
class AttributeInput:
    """An attribute definition as an admin edits it (Open311 attribute fields)."""

    code: str
    datatype: str
    description: dict[str, str]
    required: bool = False
    variable: bool = True
    datatype_description: dict[str, str] = field(default_factory=dict)
    # [{"key": "blue", "name": {"en": "Blue", "es": "Azul"}}]
    values: list[dict[str, Any]] = field(default_factory=list)


def parse_values(text: str) -> list[dict[str, Any]]:
    """The choices of a list attribute from lines `key | English name | Spanish name`."""
    values: list[dict[str, Any]] = []
    for number, line in enumerate(_no_nul(text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
            raise ValidationFailed(
                _l(
                    "Line %(line)d: write the key, a bar and the English name, and optionally another bar and the Spanish name, for example: blue | Blue | Azul",
                    line=number,
                ),
                field="values",
            )
        name = {"en": parts[1]}
        if len(parts) == 3 and parts[2]:
            name["es"] = parts[2]
        values.append({"key": parts[0].lower(), "name": name, "line": number})
    return values


def format_values(values: Iterable[Mapping[str, Any]]) -> str:
    """A list attribute's choices as the lines an admin edits."""
    lines = []
    for value in values:
        name = value.get("name") or {}
        parts = [str(value.get("key", "")), name.get("en", "")]
        if name.get("es"):
            parts.append(name["es"])
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def _check_values(datatype: AttributeDatatype, values: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if datatype not in LIST_DATATYPES:
        if values:
            raise ValidationFailed(
                _l("Only list answers have choices: remove the choices, or pick a list answer type."), field="values"
            )
        return []
    if not values:
        raise ValidationFailed(
            _l("Write at least one choice, one per line: key | English name | Spanish name."), field="values"
        )
    if len(values) > MAX_VALUES:
        raise ValidationFailed(_l("Use at most %(max)d choices.", max=MAX_VALUES), field="values")
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for value in values:
        key = _clean(str(value.get("key", ""))).lower()
        problem: Any = None
        name = _texts(value.get("name") or {})
        if not key or len(key) > VALUE_KEY_MAX or not VALUE_KEY_PATTERN.fullmatch(key):
            problem = _l(
                "A key uses only small letters, digits, dashes and underscores, at most %(max)d characters.",
                max=VALUE_KEY_MAX,
            )
        elif key in seen:
            problem = _l("The key %(key)s is used twice.", key=key)
        elif not name.get("en"):
            problem = _l("Give the choice an English name.")
        elif any(len(text) > VALUE_NAME_MAX for text in name.values()):
            problem = _l("Use at most %(max)d characters for a choice's name.", max=VALUE_NAME_MAX)
        if problem is not None:
            if value.get("line"):
                problem = _l("Line %(line)d: %(problem)s", line=value["line"], problem=problem)
            raise ValidationFailed(problem, field="values")
        seen.add(key)
        cleaned.append({"key": key, "name": name})
    return cleaned


def _apply_attribute(
    service_type: ServiceType, attribute: ServiceAttribute, data: AttributeInput, *, has_requests: bool
) -> list[str]:
    code = _clean(data.code).lower()
    if not code:
        raise ValidationFailed(_l("Give the attribute a code, for example pole_number."), field="code")
    if len(code) > ATTRIBUTE_CODE_MAX or not ATTRIBUTE_CODE_PATTERN.fullmatch(code):
        raise ValidationFailed(
            _l(
                "Use only small letters, digits and underscores, at most %(max)d characters (for example pole_number).",
                max=ATTRIBUTE_CODE_MAX,
            ),
            field="code",
        )
    if code != attribute.code:
        if attribute.id is not None and has_requests:
            raise Conflict(
                _l(
                    "Requests were filed with this attribute, so its code cannot change. Add a new attribute and remove this one."
                ),
                field="code",
            )
        if any(other.code == code for other in service_type.attributes if other is not attribute):
            raise ValidationFailed(
                _l("This service already has an attribute with the code %(code)s.", code=code), field="code"
            )
    try:
        datatype = AttributeDatatype(data.datatype)
    except ValueError:
        raise ValidationFailed(_l("Choose the type of answer."), field="datatype") from None
    description = _texts(data.description)
    if not description.get("en"):
        raise ValidationFailed(_l("Write the question in English."), field="description_en")
    _too_long(description, QUESTION_MAX, "description")
    help_text = _texts(data.datatype_description)
    _too_long(help_text, HELP_MAX, "datatype_description")
    if data.required and not data.variable:
        raise ValidationFailed(
            _l("An information-only attribute asks nothing, so it cannot be required."), field="required"
        )
    values = _check_values(datatype, data.values)
    new = {
        "code": code,
        "datatype": datatype,
        "description": description,
        "datatype_description": help_text,
        "required": bool(data.required),
        "variable": bool(data.variable),
        "values": values,
    }
    changed = [key for key, value in new.items() if getattr(attribute, key) != value]
    for key, value in new.items():
        setattr(attribute, key, value)
    return changed


def _renumber(attributes: list[ServiceAttribute]) -> None:
    for position, attribute in enumerate(attributes, start=1):
        attribute.position = position


def _ordered(service_type: ServiceType) -> list[ServiceAttribute]:
    return sorted(service_type.attributes, key=lambda attribute: (attribute.position or 0, attribute.id or 0))


def add_attribute(actor: User, service_type: ServiceType, data: AttributeInput) -> ServiceAttribute:
    """A new attribute asked last for the service."""
    if len(service_type.attributes) >= MAX_ATTRIBUTES:
        raise ValidationFailed(_l("A service can ask at most %(max)d questions.", max=MAX_ATTRIBUTES))
    attribute = ServiceAttribute()
    _apply_attribute(service_type, attribute, data, has_requests=False)
    attribute.position = max((other.position or 0 for other in service_type.attributes), default=0) + 1
    service_type.attributes.append(attribute)
    _flush_unique(_l("This service already has an attribute with the code %(code)s.", code=attribute.code), "code")
    record_event(actor, "catalog.attribute_added", service_type, code=service_type.code, attribute=attribute.code)
    return attribute


def update_attribute(actor: User, attribute: ServiceAttribute, data: AttributeInput) -> list[str]:
    """Change an attribute definition (its code stays once requests were filed for the service)."""
    service_type = attribute.service_type
    changed = _apply_attribute(service_type, attribute, data, has_requests=request_count(service_type.id) > 0)
    if changed:
        _flush_unique(_l("This service already has an attribute with the code %(code)s.", code=attribute.code), "code")
        record_event(
            actor,
            "catalog.attribute_updated",
            service_type,
            code=service_type.code,
            attribute=attribute.code,
            fields=changed,
        )
    return changed


def remove_attribute(actor: User, attribute: ServiceAttribute) -> None:
    """Stop asking an attribute; answers already filed stay on their requests."""
    service_type = attribute.service_type
    record_event(actor, "catalog.attribute_removed", service_type, code=service_type.code, attribute=attribute.code)
    remaining = [other for other in _ordered(service_type) if other is not attribute]
    service_type.attributes.remove(attribute)
    _renumber(remaining)
    db.session.flush()


def move_attribute(actor: User, attribute: ServiceAttribute, direction: int) -> bool:
    """Swap the attribute with the one above (-1) or below (+1); False when it is already at that end."""
    service_type = attribute.service_type
    ordered = _ordered(service_type)
    index = ordered.index(attribute)
    target = index + (-1 if direction < 0 else 1)
    if target < 0 or target >= len(ordered):
        return False
    ordered[index], ordered[target] = ordered[target], ordered[index]
    _renumber(ordered)
    record_event(
        actor,
        "catalog.attribute_moved",
        service_type,
        code=service_type.code,
        attribute=attribute.code,
        direction="up" if direction < 0 else "down",
    )
    return True


def get_attribute(service_type_id: int, attribute_id: int) -> ServiceAttribute:
    """The attribute of that service type, or NotFound."""
    attribute = db.session.get(ServiceAttribute, attribute_id)
    if attribute is None or attribute.service_type_id != service_type_id:
        raise NotFound(_l("There is no such attribute."))
    return attribute


# Neighborhoods -------------------------------------------------------------------------------


@dataclass
class NeighborhoodInput:
    """A neighborhood's name and ZIP codes."""

    name: str
    zipcodes: list[str]


def parse_zipcodes(text: str) -> list[str]:
    """ZIP codes typed separated by commas, spaces or new lines, in order and without repeats."""
    zipcodes: list[str] = []
    for token in re.split(r"[\s,;]+", _clean(text)):
        if not token:
            continue
        if not ZIPCODE_PATTERN.fullmatch(token):
            raise ValidationFailed(_l("%(zip)s is not a 5-digit ZIP code.", zip=token[:20]), field="zipcodes")
        if token not in zipcodes:
            zipcodes.append(token)
    return zipcodes


def _apply_neighborhood(neighborhood: Neighborhood, data: NeighborhoodInput) -> list[str]:
    name = " ".join(_clean(data.name).split())
    if not name:
        raise ValidationFailed(_l("Give the neighborhood a name."), field="name")
    if len(name) > NEIGHBORHOOD_NAME_MAX:
        raise ValidationFailed(_l("Use at most %(max)d characters.", max=NEIGHBORHOOD_NAME_MAX), field="name")
    taken = db.session.scalar(
        select(Neighborhood.id).where(
            func.lower(Neighborhood.name) == name.lower(), Neighborhood.id != (neighborhood.id or 0)
        )
    )
    if taken is not None:
        raise ValidationFailed(_l("There is already a neighborhood called %(name)s.", name=name), field="name")
    zipcodes: list[str] = []
    for zipcode in data.zipcodes:
        zipcode = _clean(zipcode)
        if not ZIPCODE_PATTERN.fullmatch(zipcode):
            raise ValidationFailed(_l("%(zip)s is not a 5-digit ZIP code.", zip=zipcode[:20]), field="zipcodes")
        if zipcode not in zipcodes:
            zipcodes.append(zipcode)
    if not zipcodes:
        raise ValidationFailed(_l("Write at least one ZIP code, for example 19143."), field="zipcodes")
    if len(zipcodes) > MAX_ZIPCODES:
        raise ValidationFailed(_l("Use at most %(max)d ZIP codes.", max=MAX_ZIPCODES), field="zipcodes")
    changed = [key for key, value in (("name", name), ("zipcodes", zipcodes)) if getattr(neighborhood, key) != value]
    neighborhood.name = name
    neighborhood.zipcodes = zipcodes
    return changed


def create_neighborhood(actor: User, data: NeighborhoodInput) -> Neighborhood:
    """A new neighborhood."""
    neighborhood = Neighborhood()
    _apply_neighborhood(neighborhood, data)
    db.session.add(neighborhood)
    _flush_unique(_l("There is already a neighborhood called %(name)s.", name=neighborhood.name), "name")
    record_event(actor, "catalog.neighborhood_created", neighborhood, name=neighborhood.name)
    return neighborhood


def update_neighborhood(actor: User, neighborhood: Neighborhood, data: NeighborhoodInput) -> list[str]:
    """Rename a neighborhood or change its ZIP codes (requests already filed keep the name they had)."""
    changed = _apply_neighborhood(neighborhood, data)
    if changed:
        _flush_unique(_l("There is already a neighborhood called %(name)s.", name=neighborhood.name), "name")
        record_event(actor, "catalog.neighborhood_updated", neighborhood, name=neighborhood.name, fields=changed)
    return changed


def delete_neighborhood(actor: User, neighborhood: Neighborhood) -> None:
    """Delete a neighborhood (batches and requests keep the name they were filed with)."""
    record_event(actor, "catalog.neighborhood_deleted", neighborhood, name=neighborhood.name)
    db.session.delete(neighborhood)
    db.session.flush()


def get_neighborhood(neighborhood_id: int) -> Neighborhood:
    """The neighborhood, or NotFound."""
    neighborhood = db.session.get(Neighborhood, neighborhood_id)
    if neighborhood is None:
        raise NotFound(_l("There is no such neighborhood."))
    return neighborhood


def neighborhoods_query() -> Select[tuple[Neighborhood]]:
    """Every neighborhood by name."""
    return select(Neighborhood).order_by(func.lower(Neighborhood.name), Neighborhood.id)


# The demo catalog ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedResult:
    """What seed_catalog added."""

    service_types: int
    attributes: int
    neighborhoods: int

    @property
    def anything(self) -> bool:
        return bool(self.service_types or self.attributes or self.neighborhoods)


def load_catalog_data(path: Path = CATALOG_DATA) -> dict[str, Any]:
    """The shipped demo catalog and neighborhoods."""
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _attribute_input(spec: Mapping[str, Any]) -> AttributeInput:
    return AttributeInput(
        code=spec["code"],
        datatype=spec["datatype"],
        description=dict(spec["description"]),
        required=bool(spec.get("required", False)),
        variable=bool(spec.get("variable", True)),
        datatype_description=dict(spec.get("datatype_description", {})),
        values=[dict(value) for value in spec.get("values", [])],
    )


def seed_catalog(actor: User | None, data: Mapping[str, Any] | None = None) -> SeedResult:
    """Add the demo service types, attributes and neighborhoods that are missing (matched by code,
    attribute code and name). What is there already, perhaps edited by an admin, is left as it is."""
    data = data if data is not None else load_catalog_data()
    existing = {
        service_type.code: service_type
        for service_type in db.session.scalars(select(ServiceType).options(selectinload(ServiceType.attributes)))
    }
    types_added = attributes_added = 0
    position = max((service_type.position or 0 for service_type in existing.values()), default=0)
    for spec in data.get("service_types", []):
        service_type = existing.get(spec["code"])
        if service_type is None:
            service_type = ServiceType()
            _apply_service_type(
                service_type,
                ServiceTypeInput(
                    code=spec["code"],
                    name=dict(spec["name"]),
                    group=dict(spec["group"]),
                    description=dict(spec.get("description", {})),
                    keywords=spec.get("keywords", ""),
                    kind=spec.get("kind", "realtime"),
                    active=spec.get("active", True),
                ),
                has_requests=False,
            )
            position += 1
            service_type.position = position
            db.session.add(service_type)
            existing[service_type.code] = service_type
            types_added += 1
        codes = {attribute.code for attribute in service_type.attributes}
        for attribute_spec in spec.get("attributes", []):
            if attribute_spec["code"] in codes:
                continue
            attribute = ServiceAttribute()
            _apply_attribute(service_type, attribute, _attribute_input(attribute_spec), has_requests=False)
            attribute.position = max((other.position or 0 for other in service_type.attributes), default=0) + 1
            service_type.attributes.append(attribute)
            codes.add(attribute.code)
            attributes_added += 1
    names = {name.lower() for name in db.session.scalars(select(Neighborhood.name))}
    neighborhoods_added = 0
    for spec in data.get("neighborhoods", []):
        if spec["name"].lower() in names:
            continue
        neighborhood = Neighborhood()
        _apply_neighborhood(neighborhood, NeighborhoodInput(spec["name"], list(spec["zipcodes"])))
        db.session.add(neighborhood)
        db.session.flush()
        names.add(neighborhood.name.lower())
        neighborhoods_added += 1
    db.session.flush()
    result = SeedResult(types_added, attributes_added, neighborhoods_added)
    if result.anything:
        record_event(
            actor,
            "catalog.seeded",
            subject_type="service_type",
            service_types=types_added,
            attributes=attributes_added,
            neighborhoods=neighborhoods_added,
        )
    return result
