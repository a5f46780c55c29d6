"""``python -m examples.django_shop <command>``: the shop's ``manage.py`` (``migrate``, ``seed_demo``,
``runserver``, ``renew``, ``send_newsletter``, ``shopprivacy_run_due``, ``check``...)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_shop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
