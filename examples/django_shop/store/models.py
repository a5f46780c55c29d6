"""The shop's tables. Personal data is stored as ``sp.fields`` tokens by the integration's model fields:
bound to their column and encrypted under the customer's own key (``subject_field="id"``), so erasing the
customer crypto-shreds every copy, backups included. ``email_bidx`` is the login key (a keyed blind index)."""

from __future__ import annotations

import secrets

from django.db import models

from shopprivacy.integrations.django.fields import BlindIndexField, EncryptedCharField, EncryptedTextField


def new_customer_id() -> str:
    return "cu_" + secrets.token_hex(8)


class Product(models.Model):
    id = models.CharField(primary_key=True, max_length=40)
    name = models.CharField(max_length=200)
    description = models.TextField()
    price = models.DecimalField(max_digits=10, decimal_places=2)  # EUR
    interval = models.CharField(max_length=10, null=True, blank=True)  # "month" for a subscription product

    class Meta:
        ordering = ["id"]


class Customer(models.Model):
    """One account; the model holds plaintext, the database only tokens and the blind index."""

    id = models.CharField(primary_key=True, max_length=40, default=new_customer_id, editable=False)
    email = EncryptedCharField(max_length=320, subject_field="id")
    email_bidx = BlindIndexField(source="email", kind="email", unique=True, null=True)
    first_name = EncryptedCharField(max_length=200, blank=True, default="", subject_field="id")
    phone = EncryptedCharField(max_length=40, null=True, blank=True, subject_field="id")
    address = EncryptedTextField(null=True, blank=True, subject_field="id")
    password = models.CharField(max_length=300)  # django.contrib.auth.hashers
    platform_customer_id = models.CharField(max_length=40, null=True, blank=True)  # set with a subscription
    created_at = models.DateTimeField(auto_now_add=True)

    def __repr__(self) -> str:  # never the personal data
        return f"<Customer {self.id}>"

    __str__ = __repr__
