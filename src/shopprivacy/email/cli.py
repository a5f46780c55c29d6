"""``shopprivacy consent import shopify|woocommerce``: the e-mail marketing consent a shop held before the SDK,
recorded as imported proof (see :mod:`.importing`)."""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import Any

from ..errors import ConfigurationError
from ..platforms import MarketingConsentSource
from .importing import ImportReport

#: Platforms whose adapters can list the consent they hold.
PLATFORMS = ("shopify", "woocommerce")


def _sp(args: argparse.Namespace) -> Any:
    from ..cli import facade

    return facade(args)


def _source(sp: Any, platform: str) -> MarketingConsentSource:
    configured = sp.settings.platform
    if configured != platform:
        raise ConfigurationError(f"the configured platform is {configured!r}, not {platform!r}: set "
                                 f"SHOPPRIVACY_PLATFORM={platform} (and its SHOPPRIVACY_PLATFORM_OPTIONS) to import "
                                 "from it", setting="SHOPPRIVACY_PLATFORM")
    adapter = sp.adapter
    if not isinstance(adapter, MarketingConsentSource):
        raise ConfigurationError(f"the installed {platform!r} adapter cannot list marketing consent: upgrade "
                                 f"shopprivacy-{platform}", setting="SHOPPRIVACY_PLATFORM")
    return adapter


def _check_list(sp: Any, list_id: str | None) -> None:
    lists = sp.email.settings.lists
    if list_id is None or list_id == "*" or list_id in lists:
        return
    close = difflib.get_close_matches(list_id, list(lists), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f" (declared: {', '.join(lists) or 'none'})"
    raise ConfigurationError(f"--list {list_id!r} is not a declared mailing list{hint}",
                             setting="SHOPPRIVACY_EMAIL__LISTS")


def print_report(report: ImportReport, *, name: str) -> None:
    """The report: counts on stdout, one line per refused record on stderr."""
    verb = "would import" if report.dry_run else "imported"
    resumed = " (resumed)" if report.resumed else ""
    print(f"{name}{resumed}: {verb} {report.imported}, unchanged {report.unchanged}, skipped {report.skipped}, "
          f"failed {report.failed} ({report.records} records, {report.pages} pages)")
    for line in report.errors:
        print(f"refused: {line}", file=sys.stderr)
    if report.failed > len(report.errors):
        print(f"refused: ... and {report.failed - len(report.errors)} more", file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    """Import the platform's consent; exit 1 when a record was refused (the others are imported)."""
    sp = _sp(args)
    _check_list(sp, args.list)
    source = _source(sp, args.platform)
    report = sp.email.importing.run_source(source, name=args.platform, list_id=args.list, dry_run=args.dry_run,
                                           restart=args.restart)
    print_report(report, name=f"consent import {args.platform}")
    return 1 if report.failed else 0


def add_commands(sub: Any) -> None:
    """Add ``consent import`` to the ``shopprivacy`` parser."""
    consent = sub.add_parser("consent", help="e-mail marketing consent held before the SDK").add_subparsers(
        dest="consent_command", required=True)
    p = consent.add_parser("import", help="record the platform's existing e-mail marketing consent as imported "
                                          "proof (resumable; re-running changes nothing)")
    p.add_argument("platform", choices=PLATFORMS, help="the platform to read (the configured SHOPPRIVACY_PLATFORM)")
    p.add_argument("--list", default=None, help="the mailing list to import into (default: Shopify's one consent "
                                                "goes to every marketing list, WooCommerce's per-list meta to each)")
    p.add_argument("--dry-run", action="store_true", help="read and check everything, write nothing")
    p.add_argument("--restart", action="store_true", help="start from the first page instead of resuming")
    p.set_defaults(func=cmd_import)
