"""Uploading a CSV or XLSX into a batch, and the template and example files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePath
from typing import Any

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from werkzeug.exceptions import RequestEntityTooLarge

from liaison.auth.models import Role
from liaison.certificates.services import filing_gate
from liaison.db_types import utcnow
from liaison.errors import Conflict, DomainError, NotAllowed, render_error
from liaison.exports import csv_response, xlsx_response
from liaison.extensions import db
from liaison.forms import csrf_checked_by_form
from liaison.htmx import is_htmx
from liaison.permissions import acting_user, liaison_required
from liaison.service_requests.batches import get_own_batch
from liaison.service_requests.importer import (
    ATTRIBUTE_PREFIX,
    UPLOAD_COLUMNS,
    ImportResult,
    ParsedUpload,
    import_into_batch,
    parse_upload,
    too_big_message,
)
from liaison.service_requests.models import AttributeDatatype, BatchStatus, RequestBatch
from liaison.service_requests.upload_forms import UploadForm
from liaison.service_requests.validation import Catalog, load_catalog
from liaison.service_requests.web import batch_blueprint

bp = batch_blueprint("batch_upload", __name__)

# The report lists this many row problems; the batch page shows them all, page by page.
PROBLEMS_SHOWN = 200
EXAMPLE_SERVICES = 3


def _limits() -> tuple[int, int]:
    config = current_app.config
    return int(config["BULK_MAX_ROWS"]), int(config["BULK_MAX_BYTES"])


def _load_draft(batch_id: int) -> RequestBatch:
    """Load → authorize: the liaison's own batch (else 404), a liaison the gate lets file (else 403)."""
    user = acting_user()
    batch = get_own_batch(user, batch_id)
    decision = filing_gate(user)
    if not decision.allowed:
        raise NotAllowed(decision.reason)
    if batch.status is not BatchStatus.DRAFT:
        raise Conflict(_l("This batch has been submitted, so it can no longer be changed."))
    return batch


def _row_problems(parsed: ParsedUpload) -> tuple[list[tuple[int, str, str]], int]:
    problems = [(row.line_number, column, message) for row in parsed.rows for column, message in row.errors.items()]
    return problems[:PROBLEMS_SHOWN], len(problems)


def _render(
    batch: RequestBatch,
    form: UploadForm,
    *,
    status: int = 200,
    parsed: ParsedUpload | None = None,
    result: ImportResult | None = None,
    filename: str = "",
) -> Any:
    max_rows, max_bytes = _limits()
    row_problems, row_problem_count = _row_problems(parsed) if parsed and result else ([], 0)
    context = {
        "batch": batch,
        "form": form,
        "parsed": parsed,
        "result": result,
        "filename": filename,
        "row_problems": row_problems,
        "row_problem_count": row_problem_count,
        "max_rows": max_rows,
        "max_megabytes": max_bytes // (1024 * 1024),
    }
    # htmx swaps the whole section: the form with its message, or the report that replaces it.
    template = "service_requests/upload/_section.html" if is_htmx() else "service_requests/upload/page.html"
    return render_template(template, **context), status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> Any:
    """A body over MAX_CONTENT_LENGTH (refused before the view runs): this page, with the limit."""
    batch_id = (request.view_args or {}).get("batch_id")
    user = acting_user()
    if request.endpoint != "batch_upload.upload" or batch_id is None or not user.is_authenticated:
        return render_error(413)
    if user.role is not Role.LIAISON:
        return render_error(403)
    batch = _load_draft(batch_id)
    form = UploadForm(formdata=None)
    form.file.errors = [too_big_message(_limits()[1])]
    return _render(batch, form, status=413)


@bp.route("/<int:batch_id>/upload", methods=["GET", "POST"])
@csrf_checked_by_form
@liaison_required
def upload(batch_id: int) -> Any:
    batch = _load_draft(batch_id)
    max_rows, max_bytes = _limits()
    try:
        form = UploadForm()
        submitted = form.validate_on_submit()
    except RequestEntityTooLarge:
        # The body is over MAX_CONTENT_LENGTH: answer with this page and the limit, not a bare 413.
        form = UploadForm(formdata=None)
        form.file.errors = [too_big_message(max_bytes)]
        return _render(batch, form, status=413)
    if not submitted:
        return _render(batch, form, status=422 if request.method == "POST" else 200)
    upload_file = form.file.data
    # Only the name's last part, shown back to the person; never used as a path.
    filename = PurePath((upload_file.filename or "").replace("\\", "/")).name[:200]
    data = upload_file.stream.read(max_bytes + 1)
    catalog = load_catalog()
    parsed = parse_upload(filename, data, catalog=catalog, max_rows=max_rows, max_bytes=max_bytes)
    if not parsed.can_import:
        blocking = [problem.message for problem in parsed.problems if problem.stops_import]
        form.file.errors = blocking or [_("The file has no requests to import.")]
        return _render(batch, form, status=422, parsed=parsed, filename=filename)
    try:
        result = import_into_batch(acting_user(), batch, parsed)
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return _render(batch, form, parsed=parsed, result=result, filename=filename)


# Template and example files ---------------------------------------------------------------------


def _may_download() -> None:
    user = acting_user()
    if user.role is Role.COORDINATOR:
        return
    decision = filing_gate(user)
    if not decision.allowed:
        raise NotAllowed(decision.reason)


def upload_header(catalog: Catalog) -> list[str]:
    """The columns of an upload: the row fields, then one attribute column per catalog attribute."""
    return [*UPLOAD_COLUMNS, *(f"{ATTRIBUTE_PREFIX}{code}" for code in catalog.attribute_codes())]


def _example_answer(datatype: AttributeDatatype, keys: tuple[str, ...]) -> str:
    if datatype == AttributeDatatype.SINGLEVALUELIST:
        return keys[0] if keys else ""
    if datatype == AttributeDatatype.MULTIVALUELIST:
        return ";".join(keys[:2])
    if datatype == AttributeDatatype.NUMBER:
        return "2"
    if datatype == AttributeDatatype.DATETIME:
        day = (utcnow() + timedelta(days=7)).date()
        return f"{day.isoformat()} 09:00"
    if datatype == AttributeDatatype.TEXT:
        return _("Neighbors say it has been like this for two weeks.")
    return _("Near the corner")


EXAMPLE_PLACES: tuple[dict[str, Any], ...] = (
    {"address": "1200 Cedar Ave", "zipcode": "19143", "lat": 39.9478, "long": -75.2145},
    {"address": "4700 Baltimore Ave", "zipcode": "19143", "lat": "", "long": ""},
    {"address": "", "zipcode": "", "lat": 39.9526, "long": -75.1652},
)
EXAMPLE_NEIGHBORS: tuple[dict[str, str], ...] = (
    {
        "neighbor_first_name": "Ana",
        "neighbor_last_name": "Rivera",
        "neighbor_phone": "215-555-0134",
        "neighbor_email": "ana.rivera@example.org",
        "contact_consent": "yes",
    },
    dict.fromkeys(("neighbor_first_name", "neighbor_last_name", "neighbor_phone", "neighbor_email"), "")
    | {"contact_consent": "no"},
    {
        "neighbor_first_name": "Luis",
        "neighbor_last_name": "Chen",
        "neighbor_phone": "",
        "neighbor_email": "",
        "contact_consent": "sí",
    },
)


def example_rows(catalog: Catalog) -> list[list[Any]]:
    """A few realistic rows for the catalog's first services, one per service, valid as they stand."""
    header = upload_header(catalog)
    rows: list[list[Any]] = []
    descriptions = (
        _("Deep pothole in front of the school; cars swerve around it."),
        _("The streetlight on the corner has been out for a week."),
        _("Trash has piled up on the vacant lot since the last pickup."),
    )
    for index, service_type in enumerate(catalog.types[:EXAMPLE_SERVICES]):
        values: dict[str, Any] = {
            "service_code": service_type.code,
            "description": descriptions[index],
            **EXAMPLE_PLACES[index],
            **EXAMPLE_NEIGHBORS[index],
        }
        for attribute in catalog.specs[service_type.id].attributes.values():
            values[f"{ATTRIBUTE_PREFIX}{attribute.code}"] = _example_answer(attribute.datatype, attribute.keys)
        rows.append([values.get(column, "") for column in header])
    return rows


@bp.get("/upload-template.csv")
@login_required
def template_csv() -> Any:
    _may_download()
    return csv_response("liaison-requests-template", upload_header(load_catalog()), [])


@bp.get("/upload-example.csv")
@login_required
def example_csv() -> Any:
    _may_download()
    catalog = load_catalog()
    return csv_response("liaison-requests-example", upload_header(catalog), example_rows(catalog))


@bp.get("/upload-example.xlsx")
@login_required
def example_xlsx() -> Any:
    _may_download()
    catalog = load_catalog()
    return xlsx_response(
        "liaison-requests-example", upload_header(catalog), example_rows(catalog), sheet_title=_("Requests")
    )
