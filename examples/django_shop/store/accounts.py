"""Customer accounts on the ``Customer`` model: login by the e-mail's blind index, passwords hashed by
Django's hashers. The encrypted fields do the cryptography on save and load."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction

from shopprivacy.errors import ConflictError
from shopprivacy.integrations.django import get_sp
from shopprivacy.integrations.django.fields import BlindIndexField

from ...shop_common.signup import check_sign_up
from .models import Customer

#: A hash to compare against when no account matches, so a login takes as long either way.
_DUMMY_HASH = make_password(secrets.token_hex(16))


def sign_up(email: str, password: str, *, first_name: str = "", phone: str = "", address: str = "") -> Customer:
    """Create an account. InvalidInput for bad values, ConflictError when the address has an account."""
    form = check_sign_up(email, password, first_name=first_name, phone=phone, address=address)
    customer = Customer(email=form.email, first_name=form.first_name, phone=form.phone, address=form.address,
                        password=make_password(form.password))
    try:
        with transaction.atomic():
            customer.save(force_insert=True)
    except IntegrityError:
        get_sp().fields.shred(customer.id, actor="shop")  # the key made for the tokens above is not needed
        raise ConflictError("an account with this e-mail address exists; please log in") from None
    return customer


def authenticate(email: str, password: str) -> Customer | None:
    """The account whose e-mail's blind index matches, when ``password`` is right. Only the id and the hash
    are read before the password is checked, so a login takes as long whether the account exists or not."""
    if not email.strip() or len(password) > 200:
        return None
    found = Customer.objects.filter(email_bidx=BlindIndexField.of(email, "email")).values_list("id", "password")
    row = found.first()
    if row is None:
        check_password(password, _DUMMY_HASH)
        return None
    cid, hashed = row
    if not check_password(password, hashed):
        return None
    customer: Customer | None = Customer.objects.filter(id=cid).first()
    return customer


def addresses() -> Iterator[str]:
    """Every customer's e-mail address, decrypted one account at a time."""
    for customer in Customer.objects.order_by("created_at", "id").iterator():
        if customer.email:
            yield customer.email
