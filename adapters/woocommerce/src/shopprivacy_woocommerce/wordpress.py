"""WordPress's own string functions the WooCommerce contract depends on, re-implemented exactly.

WooCommerce signs webhooks with ``wp_specialchars_decode( $secret, ENT_QUOTES )`` as the HMAC key
(``WC_Webhook::generate_signature``), so a secret typed with ``&amp;``, ``&quot;`` or ``&#039;`` in it is
signed with the decoded text. :func:`wp_specialchars_decode` follows WordPress 7.1
``wp-includes/formatting.php`` lines 1015-1087: zero-padded numeric entities are normalised first, then one
``strtr`` pass replaces the listed entities (never a decoded result again, so ``&amp;lt;`` gives ``&lt;``).
"""

from __future__ import annotations

import re

# formatting.php 1036-1066 (ENT_QUOTES: $single + $double + $others, and their _preg normalisations)
_PREG = ((re.compile(r"&#0*39;"), "&#039;"), (re.compile(r"&#x0*27;", re.IGNORECASE), "&#x27;"),
         (re.compile(r"&#0*34;"), "&#034;"), (re.compile(r"&#x0*22;", re.IGNORECASE), "&#x22;"),
         (re.compile(r"&#0*60;"), "&#060;"), (re.compile(r"&#0*62;"), "&#062;"),
         (re.compile(r"&#0*38;"), "&#038;"), (re.compile(r"&#x0*26;", re.IGNORECASE), "&#x26;"))
_TRANSLATION = {"&#039;": "'", "&#x27;": "'", "&quot;": '"', "&#034;": '"', "&#x22;": '"', "&lt;": "<",
                "&#060;": "<", "&gt;": ">", "&#062;": ">", "&amp;": "&", "&#038;": "&", "&#x26;": "&"}
# strtr with an array tries the longest key first at each offset and never rescans replaced text
_STRTR = re.compile("|".join(re.escape(k) for k in sorted(_TRANSLATION, key=len, reverse=True)))


def wp_specialchars_decode(text: str) -> str:
    """``wp_specialchars_decode($text, ENT_QUOTES)`` as WordPress computes it."""
    if "&" not in text:
        return text
    for pattern, replacement in _PREG:
        text = pattern.sub(replacement, text)
    return _STRTR.sub(lambda m: _TRANSLATION[m.group(0)], text)


__all__ = ["wp_specialchars_decode"]
