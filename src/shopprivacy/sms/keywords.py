"""Keywords of inbound texts: opt-out (STOP and its variants), opt back in (START, UNSTOP) and HELP.

An opt-out is read generously, since a person's wish to stop must be honoured however it is phrased (FCC
2024 revocation rule): the whole text or its first word is a stop keyword (``"Stop please"``,
``"ARRÊT"``). Opting back in and HELP need the keyword alone, so a chatty reply never re-subscribes anyone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Literal

Keyword = Literal["stop", "start", "help"]

#: Twilio's and the CTIA's standard opt-out words, plus common French, German and Spanish ones.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE",
                        "ARRET", "ARRETER", "DESABONNER", "STOPP", "ABMELDEN", "BAJA", "PARAR"})
#: Opting back in (Twilio: START, UNSTOP; YES is left out: a "yes" may answer anything).
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO", "AIDE", "HILFE", "AYUDA"})
#: Twilio's ``OptOutType`` parameter (Advanced Opt-Out, with the account's custom keywords) mapped to ours.
OPT_OUT_TYPES: dict[str, Keyword] = {"STOP": "stop", "START": "start", "HELP": "help"}

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_SPACE = re.compile(r"\s+")


def _fold(text: str) -> str:
    """Upper case without accents, punctuation at the ends or repeated spaces: ``" Arrêt! "`` → ``"ARRET"``."""
    decomposed = unicodedata.normalize("NFKD", text[:1600])
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACE.sub(" ", _EDGES.sub("", plain)).upper()


def classify(body: str, *, extra_stop: Iterable[str] = (), extra_start: Iterable[str] = (),
             opt_out_type: str | None = None) -> Keyword | None:
    """The keyword of an inbound text, or ``None`` for any other message."""
    if opt_out_type:
        hinted = OPT_OUT_TYPES.get(opt_out_type.strip().upper())
        if hinted is not None:
            return hinted
    text = _fold(body)
    if not text:
        return None
    # the shop's own keywords are read like the text: accents and edge punctuation folded away
    stop, start = STOP_WORDS | {_fold(k) for k in extra_stop}, START_WORDS | {_fold(k) for k in extra_start}
    first = _EDGES.sub("", text.split(" ", 1)[0])
    if text in stop or first in stop:
        return "stop"
    if text in start:
        return "start"
    if text in HELP_WORDS:
        return "help"
    return None
