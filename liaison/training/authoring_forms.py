"""Forms for authoring training: modules, quiz settings, questions. Shape only; rules live in services."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from liaison.training.models import QuestionKind

TITLE_MAX = 200
SUMMARY_MAX = 1_000
BODY_MAX = 50_000
PROMPT_MAX = 1_000
EXPLANATION_MAX = 2_000
CHOICE_MAX = 300
# Rows of choices on a question form; blank rows are ignored.
CHOICE_ROWS = 6
MAX_MINUTES = 600

QUESTION_KIND_LABELS: dict[QuestionKind, Any] = {
    QuestionKind.SINGLE: _l("Single choice (one right answer)"),
    QuestionKind.MULTIPLE: _l("Multiple choice (select all that apply)"),
    QuestionKind.TRUE_FALSE: _l("True or false"),
}

QUESTION_KIND_SHORT_LABELS: dict[QuestionKind, Any] = {
    QuestionKind.SINGLE: _l("Single choice"),
    QuestionKind.MULTIPLE: _l("Multiple choice"),
    QuestionKind.TRUE_FALSE: _l("True or false"),
}

# What a true/false question's two choices say until the coordinator types something else.
TRUE_FALSE_CHOICES = (
    {"en": "True", "es": "Verdadero"},
    {"en": "False", "es": "Falso"},
)


def _no_nul(value: Any) -> Any:
    # PostgreSQL refuses NUL in text and no person types one (SECURITY.md pitfall 11).
    return value.replace("\x00", "") if isinstance(value, str) else value


def _strip(value: Any) -> Any:
    return _no_nul(value).strip() if isinstance(value, str) else value


def _length(maximum: int) -> Length:
    return Length(max=maximum, message=_l("Use at most %(max)d characters."))


def _spanish(**render_kw: Any) -> dict[str, Any]:
    # Screen readers and spell checkers read Spanish fields as Spanish.
    return {"lang": "es", **render_kw}


class ModuleForm(FlaskForm):
    """A module's texts in English and Spanish, its length and whether it is required."""

    title_en = StringField(
        _l("Title in English"),
        filters=[_strip],
        validators=[DataRequired(_l("Give the module an English title.")), _length(TITLE_MAX)],
    )
    title_es = StringField(
        _l("Title in Spanish"),
        filters=[_strip],
        validators=[Optional(), _length(TITLE_MAX)],
        render_kw=_spanish(),
    )
    summary_en = TextAreaField(
        _l("Summary in English"),
        filters=[_strip],
        validators=[Optional(), _length(SUMMARY_MAX)],
        description=_l("One or two sentences shown in the list of modules."),
        render_kw={"rows": 3},
    )
    summary_es = TextAreaField(
        _l("Summary in Spanish"),
        filters=[_strip],
        validators=[Optional(), _length(SUMMARY_MAX)],
        description=_l("One or two sentences shown in the list of modules."),
        render_kw=_spanish(rows=3),
    )
    body_en = TextAreaField(
        _l("Text in English"),
        filters=[_no_nul],
        validators=[Optional(), _length(BODY_MAX)],
        description=_l("Markdown: ## heading, **bold**, *italic*, - list item, [link](https://example.org)."),
        render_kw={"rows": 16},
    )
    body_es = TextAreaField(
        _l("Text in Spanish"),
        filters=[_no_nul],
        validators=[Optional(), _length(BODY_MAX)],
        description=_l("Markdown: ## heading, **bold**, *italic*, - list item, [link](https://example.org)."),
        render_kw=_spanish(rows=16),
    )
    estimated_minutes = IntegerField(
        _l("Estimated minutes to read"),
        default=15,
        validators=[
            InputRequired(_l("Enter the number of minutes.")),
            NumberRange(min=1, max=MAX_MINUTES, message=_l("Use a number from %(min)d to %(max)d.")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    required = BooleanField(
        _l("Required for certification"),
        default=True,
        description=_l("Liaisons must read required modules and pass their quizzes to be certified."),
    )


class QuizSettingsForm(FlaskForm):
    """How the module's quiz is passed and taken."""

    pass_mark = IntegerField(
        _l("Pass mark (percent)"),
        default=80,
        validators=[
            InputRequired(_l("Enter the pass mark.")),
            NumberRange(min=1, max=100, message=_l("The pass mark is a percentage from 1 to 100.")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    attempts_allowed = IntegerField(
        _l("Attempts allowed"),
        default=3,
        validators=[
            Optional(),
            NumberRange(min=1, max=100, message=_l("Use a number from %(min)d to %(max)d, or leave it empty.")),
        ],
        description=_l("Leave empty for unlimited attempts."),
        render_kw={"inputmode": "numeric"},
    )
    shuffle_questions = BooleanField(_l("Shuffle the order of the questions"), default=True)
    shuffle_choices = BooleanField(
        _l("Shuffle the order of the choices"),
        default=True,
        description=_l("True or false questions always keep their order."),
    )
    time_limit_minutes = IntegerField(
        _l("Time limit in minutes"),
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_MINUTES, message=_l("Use a number from %(min)d to %(max)d, or leave it empty.")),
        ],
        description=_l("Leave empty for no time limit."),
        render_kw={"inputmode": "numeric"},
    )
    is_renewal = BooleanField(
        _l("Renewal quiz"),
        description=_l("Certified liaisons take this quiz to renew their certificate."),
    )


class ChoiceForm(Form):
    """One row of choices: the text in both languages and whether it is a right answer."""

    text_en = StringField(_l("English"), filters=[_strip], validators=[Optional(), _length(CHOICE_MAX)])
    text_es = StringField(
        _l("Spanish"), filters=[_strip], validators=[Optional(), _length(CHOICE_MAX)], render_kw=_spanish()
    )
    correct = BooleanField(_l("Right answer"))

    @property
    def blank(self) -> bool:
        return not (self.text_en.data or self.text_es.data)


class QuestionForm(FlaskForm):
    """A question of one of three kinds, with up to six choices (blank rows are ignored)."""

    kind = RadioField(
        _l("Kind of question"),
        choices=[SelectChoice(kind.value, label) for kind, label in QUESTION_KIND_LABELS.items()],
        default=QuestionKind.SINGLE.value,
        validators=[InputRequired(_l("Choose the kind of question."))],
    )
    prompt_en = TextAreaField(
        _l("Question in English"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the question in English.")), _length(PROMPT_MAX)],
        render_kw={"rows": 2},
    )
    prompt_es = TextAreaField(
        _l("Question in Spanish"),
        filters=[_strip],
        validators=[Optional(), _length(PROMPT_MAX)],
        render_kw=_spanish(rows=2),
    )
    explanation_en = TextAreaField(
        _l("Explanation in English"),
        filters=[_strip],
        validators=[Optional(), _length(EXPLANATION_MAX)],
        description=_l("Shown after the quiz is sent: why the right answer is right."),
        render_kw={"rows": 2},
    )
    explanation_es = TextAreaField(
        _l("Explanation in Spanish"),
        filters=[_strip],
        validators=[Optional(), _length(EXPLANATION_MAX)],
        description=_l("Shown after the quiz is sent: why the right answer is right."),
        render_kw=_spanish(rows=2),
    )
    choices = FieldList(FormField(ChoiceForm), label=_l("Choices"), min_entries=CHOICE_ROWS, max_entries=CHOICE_ROWS)

    @property
    def kind_value(self) -> QuestionKind:
        """The chosen kind (single choice when what was sent is not a kind)."""
        try:
            return QuestionKind(self.kind.data)
        except ValueError:
            return QuestionKind.SINGLE

    def prefill_true_false(self) -> None:
        """A true/false question with no choices typed yet gets "True" and "False" in both languages."""
        if self.kind_value is not QuestionKind.TRUE_FALSE:
            return
        rows = list(self.choices)
        if any(not row.form.blank for row in rows):
            return
        for row, texts in zip(rows, TRUE_FALSE_CHOICES, strict=False):
            row.form.text_en.data = texts["en"]
            row.form.text_es.data = texts["es"]

    @property
    def choices_message(self) -> str:
        """The message about the choices as a whole (a service refusal), if any."""
        return " ".join(message for message in self.choices.errors if isinstance(message, str))
