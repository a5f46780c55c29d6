"""E-mail consent: signed unsubscribe links, RFC 8058 one-click, suppression, double opt-in, preferences.

Reach it as ``sp.email`` (:class:`Email`) and its pages as ``sp.email_web`` (:class:`EmailPages`).
"""

from .mailer import LinkMail as LinkMail
from .pages import EmailPages as EmailPages
from .platform import PlatformConsentUpdate as PlatformConsentUpdate
from .records import Change as Change
from .records import Meta as Meta
from .service import Email as Email
from .settings import ALL as ALL
from .settings import EmailSettings as EmailSettings
from .settings import MailingList as MailingList
from .tables import EMAIL_ADDRESS_CONTEXT as EMAIL_ADDRESS_CONTEXT

__all__ = ["ALL", "EMAIL_ADDRESS_CONTEXT", "Change", "Email", "EmailPages", "EmailSettings", "LinkMail",
           "MailingList", "Meta", "PlatformConsentUpdate"]
