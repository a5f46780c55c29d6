"""CLI commands of the shop: ``flask --app examples.flask_shop.app renew | send-newsletter | seed-demo``.

SDK commands come with the integration: ``flask --app examples.flask_shop.app shopprivacy run-due``.
"""

from __future__ import annotations

from collections.abc import Iterator

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from shopprivacy.errors import ConflictError

from ..shop_common import newsletter
from ..shop_common.seed import DEMO_EMAIL, DEMO_PASSWORD, DEMO_PROFILE, parse_when, renew, subscribe_and_welcome
from .context import shop


def _addresses() -> Iterator[str]:
    """Every customer's e-mail address, decrypted one account at a time."""
    accounts = shop().accounts
    for cid in accounts.ids():
        customer = accounts.get(cid)
        if customer is not None:
            yield customer.email


@click.command("renew")
@with_appcontext
@click.option("--until", help="bill what is due before this time (ISO 8601; default: now)")
@click.option("--dry-run", is_flag=True, help="show what would be billed; bill nothing")
def renew_command(until: str | None, dry_run: bool) -> None:
    """Bill every due subscription once per period (safe to run from cron every few minutes)."""
    try:
        when = parse_when(until)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--until") from None
    s = shop()
    click.echo(renew(s.sp, s.platform, until=when, dry_run=dry_run, out=click.echo))


@click.command("send-newsletter")
@with_appcontext
@click.option("--subject", default="New roasts this month")
@click.option("--text", default="Our Ethiopian natural is back, and the house blend got a little darker.")
def send_newsletter_command(subject: str, text: str) -> None:
    """Mail the newsletter to every confirmed subscriber (with List-Unsubscribe headers) into the mail folder."""
    s = shop()
    sent = newsletter.send(s.sp, _addresses(), s.mail, subject, text)
    click.echo(f"{sent} newsletter mail(s) written to {s.mail.folder}")


def seed_demo(app: Flask) -> str:
    """A demo customer (``jane@example.com``) subscribed to the newsletter, and one newsletter sent.
    Idempotent: a second call finds the account. Returns the account id."""
    with app.app_context():
        s = shop()
        try:
            cid = s.accounts.sign_up(DEMO_EMAIL, DEMO_PASSWORD, **DEMO_PROFILE)
        except ConflictError:
            found = s.accounts.authenticate(DEMO_EMAIL, DEMO_PASSWORD)
            if found is None:
                raise click.ClickException(f"{DEMO_EMAIL} exists with another password") from None
            return found
        subscribe_and_welcome(s.sp, s.mail, DEMO_EMAIL, _addresses())
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
