"""The sign-up form's rules, the same in both shops."""

from __future__ import annotations

from dataclasses import dataclass, field

from shopprivacy.errors import InvalidInput


@dataclass(frozen=True)
class SignUp:
    """A checked sign-up: trimmed values, empty optional fields as ``None``. Never log it."""

    email: str = field(repr=False)
    password: str = field(repr=False)
    first_name: str = field(default="", repr=False)
    phone: str | None = field(default=None, repr=False)
    address: str | None = field(default=None, repr=False)


def check_sign_up(email: str, password: str, *, first_name: str = "", phone: str = "",
                  address: str = "") -> SignUp:
    """The form's values checked: InvalidInput for a bad address, a short password or an overlong field."""
    email = email.strip()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 320 or any(c.isspace() for c in email):
        raise InvalidInput("please give a valid e-mail address")
    if not 8 <= len(password) <= 200:
        raise InvalidInput("the password needs 8 to 200 characters")
    for name, value, limit in (("name", first_name, 200), ("phone", phone, 40), ("address", address, 500)):
        if len(value) > limit:
            raise InvalidInput(f"the {name} is too long")
    return SignUp(email, password, first_name.strip(), phone.strip() or None, address.strip() or None)
