"""CLI commands of the shop: ``flask --app examples.flask_shop.app renew | send-newsletter | seed-demo``.

SDK commands come with the integration: ``flask --app examples.flask_shop.app shopprivacy run-due``.
"""

from __future__ import annotations

from datetime import datetime, timezone

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from shopprivacy.errors import ConflictError

from . import newsletter
from .context import shop

DEMO_EMAIL = "jane@example.com"
DEMO_PASSWORD = "correct horse battery"  # noqa: S105 - the published demo account's password


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("use an ISO 8601 date, e.g. 2026-12-31 or 2026-12-31T08:00+00:00") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


@click.command("renew")
@with_appcontext
@click.option("--until", help="bill what is due before this time (ISO 8601; default: now)")
@click.option("--dry-run", is_flag=True, help="show what would be billed; bill nothing")
def renew_command(until: str | None, dry_run: bool) -> None:
    """Bill every due subscription once per period (safe to run from cron every few minutes)."""
    s = shop()
    report = s.sp.renewals.run(s.platform, until=_when(until), dry_run=dry_run, out=click.echo)
    click.echo(", ".join(f"{k} {v}" for k, v in report.counts().items() if v) or "nothing due")


@click.command("send-newsletter")
@with_appcontext
@click.option("--subject", default="New roasts this month")
@click.option("--text", default="Our Ethiopian natural is back, and the house blend got a little darker.")
def send_newsletter_command(subject: str, text: str) -> None:
    """Mail the newsletter to every confirmed subscriber (with List-Unsubscribe headers) into the mail folder."""
    s = shop()
    sent = newsletter.send(s.sp, s.accounts, s.mail, subject, text)
    click.echo(f"{sent} newsletter mail(s) written to {s.mail.folder}")


def seed_demo(app: Flask) -> str:
    """A demo customer (``jane@example.com``) subscribed to the newsletter, and one newsletter sent.
    Idempotent: a second call finds the account. Returns the account id."""
    with app.app_context():
        s = shop()
        try:
            cid = s.accounts.sign_up(DEMO_EMAIL, DEMO_PASSWORD, first_name="Jane", phone="+33 6 12 34 56 78",
                                     address="12 rue des Lilas\n69001 Lyon\nFrance")
        except ConflictError:
            found = s.accounts.authenticate(DEMO_EMAIL, DEMO_PASSWORD)
            if found is None:
                raise click.ClickException(f"{DEMO_EMAIL} exists with another password") from None
            return found
        link = s.sp.email.request_opt_in(DEMO_EMAIL, newsletter.LIST_ID, source="demo-seed",
                                         consent_text_version=newsletter.CONSENT_TEXT_VERSION)
        s.sp.email.confirm_opt_in(link.split("?t=", 1)[1], user_agent="demo-seed")
        newsletter.send(s.sp, s.accounts, s.mail, "Welcome to the Bean There newsletter",
                        "Thanks for subscribing! This mail carries List-Unsubscribe headers: try them.")
        return cid


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create the demo customer, subscribe it to the newsletter and send it one newsletter."""
    seed_demo(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"demo customer {DEMO_EMAIL} / {DEMO_PASSWORD}")


def init_app(app: Flask) -> None:
    for command in (renew_command, send_newsletter_command, seed_demo_command):
        app.cli.add_command(command)
