"""The shop's tables and its product catalogue."""

from __future__ import annotations

from typing import Any

import examples.django_shop.store.models
from django.db import migrations, models
from examples.shop_common.catalogue import PRODUCTS

import shopprivacy.integrations.django.fields


def add_products(apps: Any, schema_editor: Any) -> None:
    product = apps.get_model("store", "Product")
    for p in PRODUCTS:
        product.objects.update_or_create(id=p["id"], defaults={k: v for k, v in p.items() if k != "id"})


class Migration(migrations.Migration):
    initial = True
    dependencies: list[Any] = []

    operations = [
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=200)),
                ("description", models.TextField()),
                ("price", models.DecimalField(decimal_places=2, max_digits=10)),
                ("interval", models.CharField(blank=True, max_length=10, null=True)),
            ],
            options={"ordering": ["id"]},
        ),
        migrations.CreateModel(
            name="Customer",
            fields=[
                ("id", models.CharField(default=examples.django_shop.store.models.new_customer_id, editable=False,
                                        max_length=40, primary_key=True, serialize=False)),
                ("email", shopprivacy.integrations.django.fields.EncryptedCharField(max_length=320,
                                                                                    subject_field="id")),
                ("email_bidx", shopprivacy.integrations.django.fields.BlindIndexField(
                    db_index=True, editable=False, kind="email", max_length=64, null=True, source="email",
                    unique=True)),
                ("first_name", models.CharField(blank=True, default="", max_length=200)),
                ("phone", shopprivacy.integrations.django.fields.EncryptedCharField(blank=True, max_length=40,
                                                                                    null=True, subject_field="id")),
                ("address", shopprivacy.integrations.django.fields.EncryptedTextField(blank=True, null=True,
                                                                                      subject_field="id")),
                ("password", models.CharField(max_length=300)),
                ("platform_customer_id", models.CharField(blank=True, max_length=40, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.RunPython(add_products, migrations.RunPython.noop),
    ]
