"""shopprivacy: privacy mechanics for small online shops, in one facade.

>>> from shopprivacy import ShopPrivacy
>>> sp = ShopPrivacy.from_env()  # doctest: +SKIP
"""

from .app import RunDueReport as RunDueReport
from .app import ShopPrivacy as ShopPrivacy
from .errors import ShopPrivacyError as ShopPrivacyError
from .keys import Keyring as Keyring
from .keys import Keyset as Keyset
from .settings import Settings as Settings

__version__ = "0.1.0.dev0"

__all__ = ["Keyring", "Keyset", "RunDueReport", "Settings", "ShopPrivacy", "ShopPrivacyError", "__version__"]
