"""Rendered parts are reused only while the database still holds what they show (page_cache)."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update

from liaison.audit import AuditEvent, record_event
from liaison.auth.models import User
from liaison.enrollment.services import CohortInput, create_cohort
from liaison.extensions import db
from liaison.page_cache import DataVersion, PageCache, cached, current_token
from tests import factories


def _renderer(calls: list[str]):
    def render() -> str:
        names = db.session.scalars(db.select(User.full_name).order_by(User.id)).all()
        calls.append("render")
        return "<p>" + ", ".join(names) + "</p>"

    return render


def test_a_new_database_has_a_data_version(app_ctx):
    token = current_token()
    assert token is not None
    assert len(token) == 16


def test_a_committed_change_to_a_shown_table_replaces_the_token(app_ctx):
    before = current_token()
    factories.make_liaison(full_name="Rosa Diaz")
    db.session.commit()
    after = current_token()
    assert after != before
    user = db.session.scalars(db.select(User)).one()
    user.full_name = "Rosa Díaz"
    db.session.commit()
    assert current_token() not in (before, after)


def test_bulk_statements_and_raw_sql_that_write_replace_the_token(app_ctx):
    factories.make_liaison(full_name="Ana Ruiz")
    db.session.commit()
    before = current_token()
    db.session.execute(update(User).values(full_name="Ana Ruiz Soto"))
    db.session.commit()
    middle = current_token()
    assert middle != before
    db.session.execute(text("UPDATE \"user\" SET full_name = 'Ana R.'"))
    db.session.commit()
    assert current_token() != middle


def test_a_rolled_back_change_or_a_read_leaves_the_token(app_ctx):
    factories.make_liaison(full_name="Kim Lee")
    db.session.commit()
    before = current_token()
    user = db.session.scalars(db.select(User)).one()
    user.full_name = "Never saved"
    db.session.flush()
    db.session.rollback()
    db.session.scalars(db.select(User)).all()
    db.session.commit()
    assert current_token() == before


def test_audit_events_alone_leave_the_token(app_ctx):
    before = current_token()
    record_event(None, "test.event", subject_type="test", subject_id=1)
    db.session.commit()
    assert current_token() == before


def test_a_part_is_rendered_once_until_the_data_changes(app_ctx):
    calls: list[str] = []
    factories.make_liaison(full_name="Ines Gomez")
    db.session.commit()
    first = cached(("names",), _renderer(calls))
    again = cached(("names",), _renderer(calls))
    assert first == again == "<p>Ines Gomez</p>"
    assert calls == ["render"]
    other_key = cached(("names", "es"), _renderer(calls))
    assert other_key == first
    assert calls == ["render", "render"]

    factories.make_liaison(full_name="Omar Haddad")
    db.session.commit()
    assert cached(("names",), _renderer(calls)) == "<p>Ines Gomez, Omar Haddad</p>"
    assert len(calls) == 3


def test_the_cache_keeps_at_most_its_entries_least_recently_used_first():
    cache = PageCache(2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # "a" is now the most recently used
    cache.put("c", "C")
    assert cache.get("b") is None
    assert cache.get("a") == "A"
    assert cache.get("c") == "C"
    assert len(cache) == 2


def test_no_entries_turns_the_cache_off(app_ctx, app):
    app.extensions["page_cache"] = PageCache(0)
    calls: list[str] = []
    cached(("names",), _renderer(calls))
    cached(("names",), _renderer(calls))
    assert calls == ["render", "render"]


def test_a_part_that_reads_an_ignored_table_is_refused_in_testing(app_ctx):
    # Writes to the audit log leave the version alone, so no cached part may show it.
    def render() -> str:
        return str(db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)))

    with pytest.raises(RuntimeError, match="audit_event"):
        cached(("audit",), render)


def test_the_tables_a_cohort_page_reads_are_all_watched(app, client, login_as):
    # The real cached pages (cohorts_views.detail) pass the check above: seen once as a page and
    # once as the roster htmx swaps in (a failing check would be a 500).
    login_as("coordinator")
    with app.test_request_context():
        cohort = create_cohort(db.session.scalars(db.select(User)).first(), CohortInput(name="Check", capacity=5))
        db.session.commit()
        cohort_id = cohort.id
    assert client.get(f"/coordinator/cohorts/{cohort_id}").status_code == 200
    assert client.get(f"/coordinator/cohorts/{cohort_id}?q=a", headers={"HX-Request": "true"}).status_code == 200


def test_a_missing_version_row_turns_caching_off_until_the_next_write_restores_it(app_ctx):
    db.session.execute(db.delete(DataVersion))
    db.session.commit()
    calls: list[str] = []
    cached(("names",), _renderer(calls))
    cached(("names",), _renderer(calls))
    assert calls == ["render", "render"]
    factories.make_liaison(full_name="Yusuf Ali")
    db.session.commit()
    assert current_token() is not None
