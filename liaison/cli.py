"""The `flask liaison ...` commands: thin wrappers over the same services the web uses."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from liaison.extensions import db

liaison_cli = AppGroup("liaison", help="Liaison administration commands.")


@liaison_cli.command("create-user")
@click.option("--email", required=True, help="Login email address.")
@click.option("--name", "full_name", required=True, help="Full name as it should appear.")
@click.option("--role", type=click.Choice(["coordinator", "liaison"]), default="coordinator", show_default=True)
@click.option("--admin", is_flag=True, help="Coordinator who manages accounts, settings and the catalog.")
@click.option("--language", type=click.Choice(["en", "es"]), default="en", show_default=True)
@click.option(
    "--invite/--password", default=True, show_default=True, help="Email an invitation link, or ask for a password now."
)
def create_user_command(email: str, full_name: str, role: str, admin: bool, language: str, invite: bool) -> None:
    """Create an account (and email an invitation to set a password)."""
    from liaison.auth.models import Role
    from liaison.auth.services import create_user, send_invitation
    from liaison.errors import DomainError

    password = None if invite else click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"] or None):
        try:
            user = create_user(
                email=email,
                full_name=full_name,
                role=Role(role),
                password=password,
                is_admin=admin,
                preferred_language=language,
            )
            if invite:
                send_invitation(user)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(str(error.message)) from None
        db.session.commit()
        click.echo(f"Created {role} account {user.id}" + (" and sent an invitation." if invite else "."))


@liaison_cli.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo program (idempotent: running it again changes nothing)."""
    from liaison.demo import seed_demo

    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"] or None):
        created = seed_demo()
        db.session.commit()
    click.echo("Demo program ready." if not created else f"Demo program loaded ({', '.join(created)}).")


@liaison_cli.command("deploy-check")
def deploy_check_command() -> None:
    """Refuse insecure production settings (like Django's check --deploy)."""
    from liaison.deploy_check import run_deploy_checks

    problems = run_deploy_checks(current_app)
    for problem in problems:
        click.echo(f"✗ {problem}", err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found; fix them before going live.", err=True)
        sys.exit(1)
    click.echo("No problems found.")


@liaison_cli.command("purge-expired")
def purge_expired_command() -> None:
    """Delete expired sessions and rate-limit counters, and neighbors' data past retention (safe from cron)."""
    from liaison.auth.sessions import purge_expired_sessions
    from liaison.ratelimit import purge_expired_counters
    from liaison.service_requests.retention import purge_personal_data

    sessions = purge_expired_sessions()
    counters = purge_expired_counters()
    purged = purge_personal_data()
    db.session.commit()
    click.echo(f"Removed {sessions} expired session(s) and {counters} rate-limit counter(s).")
    click.echo(
        f"Removed neighbors' contact details from {purged.requests_anonymised} closed request(s), "
        f"{purged.submitted_rows_deleted} row(s) of filed batches and {purged.drafts_deleted} abandoned draft batch(es)."
    )


@liaison_cli.command("send-reminders")
def send_reminders_command() -> None:
    """Email certificate renewal reminders due now (idempotent: safe to run from cron every hour)."""
    from liaison.certificates.reminders import send_reminders

    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"] or None):
        sent = send_reminders()
        db.session.commit()
    click.echo(f"Sent {sent} certificate reminder(s).")


@liaison_cli.command("forward")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Send at most this many requests this run.")
@click.option("--once", is_flag=True, help="One round of at most FORWARD_BATCH_SIZE requests, then stop.")
@click.option(
    "--retry",
    "retry_ids",
    type=int,
    multiple=True,
    metavar="ID",
    help="First make these stopped requests due again (after fixing the cause); repeatable.",
)
def forward_command(limit: int | None, once: bool, retry_ids: tuple[int, ...]) -> None:
    """Forward submitted requests to the city's Open311 endpoint (safe to run from cron every minute)."""
    from liaison.service_requests.forwarding import forward_all, forwarding_settings, retry_forwarding

    try:
        settings = forwarding_settings(current_app.config)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if settings is None:
        click.echo("Forwarding is off: OPEN311_ENDPOINT and OPEN311_API_KEY are not both set.")
        return
    for request_id in retry_ids:
        again = retry_forwarding(request_id)
        click.echo(f"Request {request_id} " + ("will be forwarded again." if again else "is not waiting for a retry."))
    db.session.commit()
    run = forward_all(settings, limit=limit, once=once)
    click.echo(
        f"Forwarded {run.forwarded} request(s); {run.retrying} will be retried later; "
        f"{run.stopped} stopped and need a coordinator."
    )
    if run.released:
        click.echo(f"{run.released} claimed request(s) were left for the next run.")
    if run.halted:
        click.echo(f"Stopped early: {run.halted}", err=True)
