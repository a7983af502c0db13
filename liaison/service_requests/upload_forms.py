"""The form for uploading a CSV or XLSX file of requests into a batch."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

ACCEPTED_TYPES = ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(FlaskForm):
    """One file; its content is checked by `importer.parse_upload`, not by the form."""

    file = FileField(
        _l("CSV or Excel file"),
        validators=[FileRequired(_l("Choose the file to upload."))],
        render_kw={
            "accept": ACCEPTED_TYPES,
            # USWDS file input; the template wraps it in an hx-preserve box so htmx keeps the
            # chosen file (and USWDS's widget around it) when the form comes back with a problem.
            "class": "usa-file-input",
        },
    )
