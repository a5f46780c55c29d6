"""The first name is encrypted like the other personal fields (under the customer's own key); names stored in
plaintext by the first version are encrypted in place."""

from __future__ import annotations

from typing import Any

from django.db import migrations

import shopprivacy.integrations.django.fields

CONTEXT = "store_customer.first_name"  # the field's context: "<db_table>.<column>"


def encrypt_plain_names(apps: Any, schema_editor: Any) -> None:
    from shopprivacy.fields import is_token
    from shopprivacy.integrations.django import get_sp
    from shopprivacy.integrations.django.fields import COLUMN_ONLY_ROW

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, first_name FROM store_customer")
        plain = [(cid, name) for cid, name in cursor.fetchall() if not is_token(name)]
        for cid, name in plain:
            token = get_sp().fields.encrypt(name or "", context=CONTEXT, row=COLUMN_ONLY_ROW, subject=cid)
            cursor.execute("UPDATE store_customer SET first_name = %s WHERE id = %s", [token, cid])


class Migration(migrations.Migration):
    dependencies = [("store", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="customer",
            name="first_name",
            field=shopprivacy.integrations.django.fields.EncryptedCharField(blank=True, default="", max_length=200,
                                                                            subject_field="id"),
        ),
        migrations.RunPython(encrypt_plain_names, migrations.RunPython.noop),
    ]
