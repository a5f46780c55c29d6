"""The shop's data declaration (``sp.declaration``): one TOML file that drives the privacy notice, the record of
processing, the cookie table and the drift checks. See docs/declaration.md."""

from .documents import Document as Document
from .drift import DRIFT_KINDS as DRIFT_KINDS
from .drift import Drift as Drift
from .loader import DeclarationError as DeclarationError
from .loader import load_declaration as load_declaration
from .loader import parse_declaration as parse_declaration
from .model import Declaration as Declaration
from .service import Declarations as Declarations
from .settings import DeclarationSettings as DeclarationSettings

__all__ = ["DRIFT_KINDS", "Declaration", "DeclarationError", "DeclarationSettings", "Declarations", "Document",
           "Drift", "load_declaration", "parse_declaration"]
