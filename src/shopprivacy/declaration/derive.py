"""Settings derived from the declaration, so the banner, the retention jobs and the notice cannot drift apart."""

from __future__ import annotations

from ..consent.settings import Category, ConsentSettings, CookieDecl
from .model import Declaration


def consent_settings(settings: ConsentSettings, decl: Declaration) -> ConsentSettings:
    """``settings`` with each category's declared cookies filled in from the declaration (a category that
    lists cookies in the settings keeps its own list), so the banner and the server delete what is declared."""
    categories: dict[str, Category] = {}
    for name, category in settings.categories.items():
        declared = [CookieDecl(name=c.name) for c in decl.cookies if c.category == name]
        categories[name] = (category.model_copy(update={"cookies": declared})
                            if declared and not category.cookies else category)
    return settings.model_copy(update={"categories": categories})
