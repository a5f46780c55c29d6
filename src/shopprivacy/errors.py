"""Exceptions raised by shopprivacy.

Every error derives from :class:`ShopPrivacyError`, so callers may catch broadly or precisely.
Messages name settings, fields, key ids and pseudonyms; they never contain personal data or key bytes.
"""

from __future__ import annotations

from datetime import datetime


class ShopPrivacyError(Exception):
    """Base class of every error raised by shopprivacy."""


class ConfigurationError(ShopPrivacyError):
    """A setting is missing or invalid. ``setting`` names it (e.g. ``SHOPPRIVACY_DATABASE_URL``)."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class KeysetError(ConfigurationError):
    """The keyset is missing, malformed, too weak, or lacks a key id that data refers to."""


class UnknownKeyError(KeysetError):
    """Data names a key id that the loaded keyset does not hold (retired or foreign key)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"key id {key_id!r} is not in the keyset (retired, or from another keyset)")
        self.key_id = key_id


class DidNotEnable(ConfigurationError):
    """A framework integration cannot run: its framework is missing or older than it supports (the message
    names the installed and the required version, and the extra to install)."""


class InvalidInput(ShopPrivacyError):
    """Input from a caller or a request is malformed; nothing was written."""


class MalformedRequest(InvalidInput):
    """An HTTP request is outside the SDK's bounds or cannot be parsed (too large, too many form fields, text
    HTTP or UTF-8 does not allow); ``status`` is the 4xx to answer. Nothing was written."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class TokenError(InvalidInput):
    """A signed token or ciphertext could not be accepted."""


class BadToken(TokenError):
    """A token is malformed, tampered with, for another purpose, or signed with a foreign key."""


class ExpiredToken(TokenError):
    """A token was genuine but is past its validity period. ``payload`` holds its (authentic) content, so a
    page can offer a fresh link."""

    def __init__(self, message: str, *, payload: object = None) -> None:
        super().__init__(message)
        self.payload = payload


class SignatureError(InvalidInput):
    """A webhook or message signature is missing or does not match (answer 401)."""


class NotFoundError(ShopPrivacyError):
    """The thing asked for does not exist."""


class ConflictError(ShopPrivacyError):
    """The operation conflicts with the current state (duplicate, already claimed, wrong state)."""


class JobBusy(ConflictError):
    """Another live worker holds the lease of this job."""


class StoreError(ShopPrivacyError):
    """The store cannot be used."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached."""


class SchemaVersionError(StoreError):
    """The database schema is older or newer than this version of shopprivacy expects."""


class AuditChainError(StoreError):
    """The audit chain is broken. ``seq`` is the first bad entry (or ``None`` for the head record); ``kind`` says
    what broke (``entry``, ``head``, ``tail``, ``wiped``, ``base``, ``anchor``). When verification found several
    problems, ``problems`` holds each (this error is the first), one line each."""

    def __init__(self, message: str, *, seq: int | None, kind: str = "entry",
                 problems: tuple[AuditChainError, ...] = ()) -> None:
        super().__init__(message)
        self.seq = seq
        self.kind = kind
        self.problems: tuple[AuditChainError, ...] = problems or (self,)


class AuditAnchorError(StoreError):
    """The audit anchor cannot be used: missing, garbled, unreadable, or open to other users."""


class AdapterNotFound(ConfigurationError):
    """No platform adapter is installed under the requested name."""


class UnsupportedOperation(ShopPrivacyError):
    """The configured platform adapter does not offer an operation a capability needs."""


class PlatformError(ShopPrivacyError):
    """A platform call failed. ``retry_after`` (seconds) is set when the platform asked to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.retryable = retryable


class PlatformAuthError(PlatformError):
    """The platform refused the shop's credentials (HTTP 401/403): the call was not carried out. Fix the access
    token, key or its scopes; repeating the call with the same credentials cannot help."""


class OutcomeUnknown(PlatformError):
    """A platform write was sent but no definite answer came back (the connection broke, the answer was cut
    off or was not the JSON expected): it may or may not have been applied. Repeat it with the *same*
    idempotency key, never mark it as failed."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after, retryable=True)


class RetryLater(ShopPrivacyError):
    """Raised by an outbox handler to ask for another attempt, optionally after ``retry_after`` seconds."""

    def __init__(self, message: str = "retry later", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(ShopPrivacyError):
    """Raised by an outbox handler when retrying cannot help; the row goes to the dead letters."""


class ShreddedError(TokenError):
    """The value belonged to a subject whose data key was destroyed (crypto-shredded): it is gone for good."""


class SuppressedRecipient(ShopPrivacyError):
    """A marketing message was about to be built for an address that unsubscribed or was suppressed."""


class QuietHours(SuppressedRecipient):
    """A marketing text would reach its recipient during quiet hours in their time zone; ``until`` (UTC) is
    the first moment it may be sent. A :class:`SuppressedRecipient`, so a broad catch never sends it."""

    def __init__(self, message: str, *, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class InvalidPhoneNumber(InvalidInput):
    """A phone number that cannot be read as a valid number (E.164 with its country code, or a national
    number of the configured default region)."""


class NotOptedIn(SuppressedRecipient):
    """A marketing message was about to be built for an address with no recorded opt-in to its list (a
    :class:`SuppressedRecipient`, so code that skips suppressed recipients skips these too)."""


class ProcessingRestricted(SuppressedRecipient):
    """The subject restricted processing (GDPR Art. 18), objected to direct marketing and profiling (Art. 21) or
    opted out of the sale and sharing of their data (CCPA) in a rights request: the purpose named in the message
    must skip them. A :class:`SuppressedRecipient`, so marketing code that skips suppressed recipients skips
    these too."""


class RateLimited(ConflictError):
    """Too many requests of this kind for the same address or client; try again later."""


class PurposeViolation(ShopPrivacyError):
    """Code inside a purpose-bound run read a field outside the purpose's allow-list. ``field`` names it."""

    def __init__(self, field: str, purpose: str = "renewal") -> None:
        super().__init__(f"field {field!r} is outside the {purpose} allow-list")
        self.field = field
        self.purpose = purpose


class AccessDenied(ShopPrivacyError):
    """The access policy does not let this role read this field (the attempt is audited). ``field`` names it."""

    def __init__(self, field: str, role: str | None) -> None:
        super().__init__(f"role {role or '(none)'!r} may not read field {field!r} "
                         "(SHOPPRIVACY_FIELDS__ACCESS__ROLES)")
        self.field = field
        self.role = role


class UnderAge(InvalidInput):
    """The person is below the declared minimum age for this country; nothing was stored. ``threshold``: that age."""

    def __init__(self, threshold: int) -> None:
        super().__init__(f"below the minimum age of {threshold}")
        self.threshold = threshold


class RuleError(ConfigurationError):
    """A retention rule is malformed. ``rule`` names it."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"retention rule {rule!r}: {message}")
        self.rule = rule


__all__ = [
    "AccessDenied",
    "AdapterNotFound",
    "AuditAnchorError",
    "AuditChainError",
    "BadToken",
    "ConfigurationError",
    "ConflictError",
    "DatabaseUnavailable",
    "DidNotEnable",
    "ExpiredToken",
    "InvalidInput",
    "InvalidPhoneNumber",
    "JobBusy",
    "KeysetError",
    "MalformedRequest",
    "NotFoundError",
    "NotOptedIn",
    "OutcomeUnknown",
    "PermanentFailure",
    "PlatformAuthError",
    "PlatformError",
    "ProcessingRestricted",
    "PurposeViolation",
    "QuietHours",
    "RateLimited",
    "RetryLater",
    "RuleError",
    "SchemaVersionError",
    "ShopPrivacyError",
    "ShreddedError",
    "SignatureError",
    "StoreError",
    "SuppressedRecipient",
    "TokenError",
    "UnderAge",
    "UnknownKeyError",
    "UnsupportedOperation",
]
