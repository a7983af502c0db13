"""Hostile input against bulk requests: any file, any row typed in the grid.

SECURITY.md "Hostile input": XSS and htmx attributes, SQL metacharacters, odd Unicode, huge and
empty values, template syntax, CR/LF, numbers at the edges → never a response >= 500, what was
typed is stored as typed (or refused with a message), and pages parsed back carry no markup of
the attacker's.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from liaison.extensions import db
from liaison.service_requests.importer import parse_upload
from liaison.service_requests.models import AttributeDatatype, BatchRow
from liaison.service_requests.validation import load_catalog, validate_row
from tests import factories
from tests.conftest import login

HTMX = {"HX-Request": "true"}
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '<a data-hx-get="/logout" hx-trigger="load">x</a>',
    "{{ config }}{% raw %}",
    "'; DROP TABLE service_request; --",
    "100% _done_ \\ back",
    '=HYPERLINK("http://evil","x")',
    "line one\r\nline two",
    "Zoë Ñúñez 李小龍 مرحبا \u202e\u200b",
    "9" * 400,
    "-1e309",
    "",
    " ",
]
text_values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=80))
FIELDS = ["service_code", "address", "zipcode", "lat", "long", "description", "neighbor_first_name", "neighbor_phone"]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def catalog(app):
    with app.app_context():
        factories.make_service_type(
            "SR-PD01",
            name="Abandoned Vehicle",
            attributes=[
                {"code": "plate", "datatype": AttributeDatatype.STRING},
                {"code": "days_parked", "datatype": AttributeDatatype.NUMBER},
                {"code": "seen_at", "datatype": AttributeDatatype.DATETIME},
                {
                    "code": "color",
                    "datatype": AttributeDatatype.SINGLEVALUELIST,
                    "values": [{"key": "blue", "name": {"en": "Blue", "es": "Azul"}}],
                },
            ],
        )


@FUZZ
@given(values=st.fixed_dictionaries(dict.fromkeys(FIELDS, text_values)), answer=text_values)
def test_validation_answers_any_row_with_messages_never_an_exception(app, catalog, values, answer):
    row = dict(values, attributes={"plate": answer, "days_parked": answer, "seen_at": answer, "color": answer})
    with app.test_request_context():
        check = validate_row(row, load_catalog())
    assert all(isinstance(message, str) and message for message in map(str, check.errors.values()))
    if not check.errors:
        assert check.cleaned["service_type_id"]


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=800),
        st.lists(st.lists(text_values, min_size=1, max_size=6), max_size=6).map(
            lambda rows: "\n".join(
                ["service_code,address,zipcode,description,attribute:plate"] + [",".join(row) for row in rows]
            ).encode("utf-8")
        ),
    ),
    filename=st.sampled_from(["a.csv", "a.xlsx", "a.txt", "a"]),
)
def test_any_uploaded_bytes_give_rows_or_problems_never_an_exception(app, catalog, data, filename):
    with app.test_request_context():
        parsed = parse_upload(filename, data, catalog=load_catalog(), max_rows=50, max_bytes=10_000)
    assert parsed.rows or parsed.problems
    for problem in parsed.problems:
        assert str(problem.message)
    for row in parsed.rows:
        assert row.line_number >= 2


@pytest.fixture
def draft_row(app, client, catalog):
    """A certified liaison, logged in once, with a one-row draft batch (every example saves that row)."""
    with app.app_context():
        user = factories.make_certified_liaison()
        batch = factories.make_batch(user, rows=[{}])
        ids, email = (batch.id, batch.rows[0].id), user.email
    assert login(client, email).status_code == 302
    return ids


@FUZZ
@given(values=st.fixed_dictionaries(dict.fromkeys(FIELDS, text_values)), answer=text_values)
def test_a_grid_row_with_hostile_text_is_stored_as_typed_and_shown_escaped(app, client, draft_row, values, answer):
    batch_id, row_id = draft_row
    form = {f"rows-{row_id}-{name}": value for name, value in values.items()}
    form[f"rows-{row_id}-shown_service"] = values["service_code"]
    form[f"rows-{row_id}-attribute-plate"] = answer

    response = client.post(f"/requests/batches/{batch_id}/rows/{row_id}", data=form, headers=HTMX)

    assert response.status_code in (200, 422)
    page = response.get_data(as_text=True)
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert not re.search(r"<a [^>]*data-hx-get=\"/logout\"", page)
    with app.app_context():
        stored = db.session.get(BatchRow, row_id).values
    for name in ("address", "description", "neighbor_first_name"):
        typed = values[name].replace("\x00", "")
        assert stored[name] in (typed, typed.strip()), name
    shown = values["address"].replace("\x00", "").strip()
    if shown and "\r" not in shown:
        assert str(escape(shown)) in page
