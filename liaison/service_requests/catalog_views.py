"""Coordinators (admins) manage the service catalog and the neighborhoods it is filed in.

Every coordinator may read the catalog; only admins change it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from liaison.errors import DomainError
from liaison.extensions import db
from liaison.forms import apply_domain_error, csrf_checked_by_form
from liaison.htmx import is_htmx
from liaison.permissions import acting_user, admin_required, coordinator_required
from liaison.service_requests import catalog
from liaison.service_requests.catalog_forms import (
    DATATYPE_LABELS,
    KIND_LABELS,
    AttributeForm,
    ConfirmDeleteForm,
    MoveForm,
    NeighborhoodForm,
    ServiceTypeForm,
)
from liaison.service_requests.models import ServiceAttribute, ServiceType

bp = Blueprint("catalog", __name__)
PER_PAGE = 100
NEIGHBORHOODS_PER_PAGE = 50


def _is_admin() -> bool:
    return bool(current_user.is_authenticated and current_user.is_admin)


def _labels() -> dict[str, Any]:
    return {"kind_labels": KIND_LABELS, "datatype_labels": DATATYPE_LABELS, "can_edit": _is_admin()}


def _status() -> int:
    return 422 if request.method == "POST" else 200


# The catalog ----------------------------------------------------------------------------------


@bp.get("/")
@coordinator_required
def index() -> Any:
    page = db.paginate(catalog.catalog_query(), per_page=PER_PAGE, error_out=False)
    groups = catalog.catalog_groups(page.items)
    return render_template("service_requests/catalog/index.html", page=page, groups=groups, **_labels())


def _service_type_input(form: ServiceTypeForm) -> catalog.ServiceTypeInput:
    return catalog.ServiceTypeInput(
        code=form.code.data or "",
        name={"en": form.name_en.data or "", "es": form.name_es.data or ""},
        group={"en": form.group_en.data or "", "es": form.group_es.data or ""},
        description={"en": form.description_en.data or "", "es": form.description_es.data or ""},
        keywords=form.keywords.data or "",
        kind=form.kind.data or "",
        active=bool(form.active.data),
    )


def _service_type_form_page(form: ServiceTypeForm, service_type: ServiceType | None) -> Any:
    return render_template(
        "service_requests/catalog/service_type_form.html",
        form=form,
        service_type=service_type,
        groups=catalog.group_suggestions(),
    ), _status()


@bp.route("/types/new", methods=["GET", "POST"])
@csrf_checked_by_form
@admin_required
def create_type() -> Any:
    form = ServiceTypeForm()
    if form.validate_on_submit():
        try:
            service_type = catalog.create_service_type(acting_user(), _service_type_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s added to the catalog. Now add the questions it asks.", name=form.name_en.data), "success")
            return redirect(url_for("catalog.service_type", service_type_id=service_type.id))
    return _service_type_form_page(form, None)


@bp.get("/types/<int:service_type_id>")
@coordinator_required
def service_type(service_type_id: int) -> Any:
    service_type = catalog.get_service_type(service_type_id)
    return _service_type_page(service_type, AttributeForm())


def _attributes_context(service_type: ServiceType, form: AttributeForm, message: str = "") -> dict[str, Any]:
    return {
        "service_type": service_type,
        "attributes": sorted(service_type.attributes, key=lambda attribute: (attribute.position, attribute.id)),
        "form": form,
        "move_form": MoveForm(),
        "message": message,
        "failed": False,
        "moved": None,
        **_labels(),
    }


def _service_type_page(service_type: ServiceType, form: AttributeForm, status: int = 200, message: str = "") -> Any:
    context = _attributes_context(service_type, form, message)
    context["failed"] = status >= 400 and bool(message)
    return render_template(
        "service_requests/catalog/service_type.html", requests=catalog.request_count(service_type.id), **context
    ), status


@bp.route("/types/<int:service_type_id>/edit", methods=["GET", "POST"])
@csrf_checked_by_form
@admin_required
def edit_type(service_type_id: int) -> Any:
    service_type = catalog.get_service_type(service_type_id)
    # Prefilled only on GET: a POST holds everything itself (a field missing from it is empty, not kept).
    form = ServiceTypeForm(
        data=None
        if request.method == "POST"
        else {
            "code": service_type.code,
            "name_en": service_type.name.get("en", ""),
            "name_es": service_type.name.get("es", ""),
            "group_en": (service_type.group or {}).get("en", ""),
            "group_es": (service_type.group or {}).get("es", ""),
            "description_en": (service_type.description or {}).get("en", ""),
            "description_es": (service_type.description or {}).get("es", ""),
            "keywords": service_type.keywords,
            "kind": service_type.kind,
            "active": service_type.active,
        }
    )
    if form.validate_on_submit():
        try:
            catalog.update_service_type(acting_user(), service_type, _service_type_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s saved.", name=service_type.name["en"]), "success")
            return redirect(url_for("catalog.service_type", service_type_id=service_type.id))
    return _service_type_form_page(form, service_type)


@bp.route("/types/<int:service_type_id>/delete", methods=["GET", "POST"])
@csrf_checked_by_form
@admin_required
def delete_type(service_type_id: int) -> Any:
    service_type = catalog.get_service_type(service_type_id)
    form = ConfirmDeleteForm()
    requests = catalog.request_count(service_type.id)
    status = _status()
    if form.validate_on_submit():
        name = service_type.name.get("en", service_type.code)
        try:
            catalog.delete_service_type(acting_user(), service_type)
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
            status = error.status_code
        else:
            db.session.commit()
            flash(_("%(name)s was deleted from the catalog.", name=name), "success")
            return redirect(url_for("catalog.index"))
    return render_template(
        "service_requests/catalog/confirm_delete.html",
        form=form,
        title=_("Delete %(name)s", name=service_type.name.get("en", service_type.code)),
        explanation=_("The service and the questions it asks will be deleted. This cannot be undone."),
        refusal=ngettext(
            "%(num)d request was filed for this service, so it cannot be deleted. Deactivate it instead: it disappears from new filings and its request stays.",
            "%(num)d requests were filed for this service, so it cannot be deleted. Deactivate it instead: it disappears from new filings and its requests stay.",
            requests,
        )
        if requests
        else "",
        back=url_for("catalog.service_type", service_type_id=service_type.id),
        edit=url_for("catalog.edit_type", service_type_id=service_type.id),
    ), status


# Attributes -----------------------------------------------------------------------------------


def _attribute_input(form: AttributeForm) -> catalog.AttributeInput:
    """The form as a service input; the list of choices is parsed here (it may raise)."""
    return catalog.AttributeInput(
        code=form.code.data or "",
        datatype=form.datatype.data or "",
        description={"en": form.description_en.data or "", "es": form.description_es.data or ""},
        datatype_description={
            "en": form.datatype_description_en.data or "",
            "es": form.datatype_description_es.data or "",
        },
        required=bool(form.required.data),
        variable=bool(form.variable.data),
        values=catalog.parse_values(form.values.data or ""),
    )


def _attributes_fragment(service_type: ServiceType, form: AttributeForm, message: str = "", **extra: Any) -> str:
    context = _attributes_context(service_type, form, message)
    context.update(extra)
    return render_template("service_requests/catalog/_attributes.html", **context)


@bp.post("/types/<int:service_type_id>/attributes")
@csrf_checked_by_form
@admin_required
def add_attribute(service_type_id: int) -> Any:
    service_type = catalog.get_service_type(service_type_id)
    form = AttributeForm()
    if form.validate_on_submit():
        try:
            attribute = catalog.add_attribute(acting_user(), service_type, _attribute_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            code = attribute.code
            db.session.commit()
            message = _("The question %(code)s was added.", code=code)
            if is_htmx():
                service_type = catalog.get_service_type(service_type_id)
                return _attributes_fragment(service_type, AttributeForm(formdata=None), message)
            flash(message, "success")
            return redirect(url_for("catalog.service_type", service_type_id=service_type_id) + "#attributes")
        service_type = catalog.get_service_type(service_type_id)
    if is_htmx():
        return _attributes_fragment(service_type, form), 422
    return _service_type_page(service_type, form, 422)


def _attribute_form_data(attribute: ServiceAttribute) -> dict[str, Any]:
    return {
        "code": attribute.code,
        "datatype": attribute.datatype.value,
        "description_en": attribute.description.get("en", ""),
        "description_es": attribute.description.get("es", ""),
        "datatype_description_en": (attribute.datatype_description or {}).get("en", ""),
        "datatype_description_es": (attribute.datatype_description or {}).get("es", ""),
        "values": catalog.format_values(attribute.values or []),
        "required": attribute.required,
        "variable": attribute.variable,
    }


@bp.route("/types/<int:service_type_id>/attributes/<int:attribute_id>/edit", methods=["GET", "POST"])
@csrf_checked_by_form
@admin_required
def edit_attribute(service_type_id: int, attribute_id: int) -> Any:
    attribute = catalog.get_attribute(service_type_id, attribute_id)
    form = AttributeForm(data=None if request.method == "POST" else _attribute_form_data(attribute))
    if form.validate_on_submit():
        try:
            catalog.update_attribute(acting_user(), attribute, _attribute_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
            attribute = catalog.get_attribute(service_type_id, attribute_id)
        else:
            code = attribute.code
            db.session.commit()
            flash(_("The question %(code)s was saved.", code=code), "success")
            return redirect(url_for("catalog.service_type", service_type_id=service_type_id) + "#attributes")
    return render_template(
        "service_requests/catalog/attribute_form.html",
        form=form,
        attribute=attribute,
        service_type=attribute.service_type,
        **_labels(),
    ), _status()


@bp.route("/types/<int:service_type_id>/attributes/<int:attribute_id>/delete", methods=["GET", "POST"])
@csrf_checked_by_form
@admin_required
def delete_attribute(service_type_id: int, attribute_id: int) -> Any:
    attribute = catalog.get_attribute(service_type_id, attribute_id)
    form = ConfirmDeleteForm()
    if form.validate_on_submit():
        code = attribute.code
        catalog.remove_attribute(acting_user(), attribute)
        db.session.commit()
        flash(_("The question %(code)s was removed.", code=code), "success")
        return redirect(url_for("catalog.service_type", service_type_id=service_type_id) + "#attributes")
    service_type = attribute.service_type
    return render_template(
        "service_requests/catalog/confirm_delete.html",
        form=form,
        title=_("Remove the question %(code)s", code=attribute.code),
        explanation=_(
            "Liaisons will no longer be asked it for %(name)s. Answers already filed stay on their requests.",
            name=service_type.name.get("en", service_type.code),
        ),
        refusal="",
        back=url_for("catalog.service_type", service_type_id=service_type_id) + "#attributes",
        edit=None,
    ), _status()


@bp.post("/types/<int:service_type_id>/attributes/<int:attribute_id>/move")
@csrf_checked_by_form
@admin_required
def move_attribute(service_type_id: int, attribute_id: int) -> Any:
    attribute = catalog.get_attribute(service_type_id, attribute_id)
    form = MoveForm()
    if not form.validate_on_submit():
        message = _("That could not be moved. Reload the page and try again.")
        if is_htmx():
            return _attributes_fragment(attribute.service_type, AttributeForm(formdata=None), message, failed=True), 422
        return _service_type_page(attribute.service_type, AttributeForm(formdata=None), 422, message=message)
    direction = -1 if form.direction.data == "up" else 1
    moved = catalog.move_attribute(acting_user(), attribute, direction)
    code = attribute.code
    db.session.commit()
    if moved:
        message = _("%(code)s moved up.", code=code) if direction < 0 else _("%(code)s moved down.", code=code)
    else:
        message = (
            _("%(code)s is already first.", code=code) if direction < 0 else _("%(code)s is already last.", code=code)
        )
    if is_htmx():
        service_type = catalog.get_service_type(service_type_id)
        return _attributes_fragment(
            service_type, AttributeForm(formdata=None), message, moved=(attribute_id, form.direction.data)
        )
    flash(message, "success")
    return redirect(url_for("catalog.service_type", service_type_id=service_type_id) + f"#attribute-{attribute_id}")


# Neighborhoods --------------------------------------------------------------------------------


def _neighborhoods_page(form: NeighborhoodForm, status: int = 200) -> Any:
    page = db.paginate(catalog.neighborhoods_query(), per_page=NEIGHBORHOODS_PER_PAGE, error_out=False)
    return render_template("service_requests/catalog/neighborhoods.html", page=page, form=form, **_labels()), status


def _neighborhood_input(form: NeighborhoodForm) -> catalog.NeighborhoodInput:
    return catalog.NeighborhoodInput(
        name=form.name.data or "", zipcodes=catalog.parse_zipcodes(form.zipcodes.data or "")
    )


@bp.get("/neighborhoods")
@coordinator_required
def neighborhoods() -> Any:
    return _neighborhoods_page(NeighborhoodForm(formdata=None))


@bp.post("/neighborhoods/new")
@csrf_checked_by_form
@admin_required
def add_neighborhood() -> Any:
    form = NeighborhoodForm()
    if form.validate_on_submit():
        try:
            neighborhood = catalog.create_neighborhood(acting_user(), _neighborhood_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            name = neighborhood.name
            db.session.commit()
            flash(_("%(name)s added.", name=name), "success")
            return redirect(url_for("catalog.neighborhoods"))
    return _neighborhoods_page(form, 422)


@bp.route("/neighborhoods/<int:neighborhood_id>/edit", methods=["GET", "POST"])
@csrf_checked_by_form
@admin_required
def edit_neighborhood(neighborhood_id: int) -> Any:
    neighborhood = catalog.get_neighborhood(neighborhood_id)
    form = NeighborhoodForm(
        data=None
        if request.method == "POST"
        else {"name": neighborhood.name, "zipcodes": ", ".join(neighborhood.zipcodes or [])}
    )
    if form.validate_on_submit():
        try:
            catalog.update_neighborhood(acting_user(), neighborhood, _neighborhood_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
            neighborhood = catalog.get_neighborhood(neighborhood_id)
        else:
            name = neighborhood.name
            db.session.commit()
            flash(_("%(name)s saved.", name=name), "success")
            return redirect(url_for("catalog.neighborhoods"))
    return render_template(
        "service_requests/catalog/neighborhood_form.html", form=form, neighborhood=neighborhood
    ), _status()


@bp.route("/neighborhoods/<int:neighborhood_id>/delete", methods=["GET", "POST"])
@csrf_checked_by_form
@admin_required
def delete_neighborhood(neighborhood_id: int) -> Any:
    neighborhood = catalog.get_neighborhood(neighborhood_id)
    form = ConfirmDeleteForm()
    if form.validate_on_submit():
        name = neighborhood.name
        catalog.delete_neighborhood(acting_user(), neighborhood)
        db.session.commit()
        flash(_("%(name)s was deleted.", name=name), "success")
        return redirect(url_for("catalog.neighborhoods"))
    return render_template(
        "service_requests/catalog/confirm_delete.html",
        form=form,
        title=_("Delete %(name)s", name=neighborhood.name),
        explanation=_(
            "Batches and requests already filed keep the neighborhood's name. Liaisons can no longer choose it."
        ),
        refusal="",
        back=url_for("catalog.neighborhoods"),
        edit=None,
    ), _status()
