"""The shop's app config."""

from __future__ import annotations

from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "examples.django_shop.store"
    label = "store"
    default_auto_field = "django.db.models.BigAutoField"
