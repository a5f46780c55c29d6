"""The Django test project of this process. Django's settings are process-wide and configured once, by whichever
test module needs Django first; each module then overrides what it needs (``override_settings``) and rebuilds
the facade (``get_sp.cache_clear()``)."""

import sys
import types
from pathlib import Path

from shopprivacy import Keyset

#: The URLconf module the Django tests fill with their own patterns.
URLCONF = "sp_test_urls"


def configure(folder: Path) -> None:
    """Configure and set up Django unless done already; ``SHOPPRIVACY`` points at a store in ``folder``."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    sys.modules.setdefault(URLCONF, types.ModuleType(URLCONF))
    settings.configure(
        DEBUG=False, SECRET_KEY="test-only", ALLOWED_HOSTS=["testserver"], ROOT_URLCONF=URLCONF,
        INSTALLED_APPS=["django.contrib.contenttypes", "shopprivacy.integrations.django"],
        MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware",
                    "shopprivacy.integrations.django.middleware.ConsentMiddleware"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(folder / "shop.db")}},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
        SHOPPRIVACY={"database_url": f"sqlite:///{folder / 'sp.db'}", "keyset": Keyset.generate().to_json(),
                     "public_base_url": "http://testserver"},
        USE_TZ=True,
    )
    django.setup()
