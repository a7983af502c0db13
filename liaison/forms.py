"""Helpers shared by every feature's forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_wtf import FlaskForm

from liaison.errors import DomainError
from liaison.extensions import csrf

F = TypeVar("F", bound=Callable[..., Any])


def csrf_checked_by_form(view: F) -> F:
    """Leave the CSRF check of this view to its FlaskForm instead of the global guard.

    The global guard answers a missing or stale token with a bare 400, losing what was typed
    (SECURITY.md pitfall 9). A FlaskForm checks the same token during validation, so the view
    re-renders the form with everything the person entered and a message to send it again.
    Only for views whose every state change goes through `form.validate_on_submit()`.
    """
    return csrf.exempt(view)  # type: ignore[no-any-return]


def apply_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Show a service's refusal next to the field it names, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error.message)]
    else:
        form.form_errors.append(str(error.message))
