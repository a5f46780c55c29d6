"""One billing call, repeated with the same idempotency key while its outcome is unknown.

A billing call ends in one of three ways:

* a definite answer: a :class:`~shopprivacy.platforms.BillingResult` (billed, pending, or a payment error),
  or a refusal (a :class:`~shopprivacy.errors.PlatformError` that is not retryable, e.g. Shopify's
  ``userErrors``); only these may settle the renewal for good;
* a temporary refusal (a retryable ``PlatformError``: rate limited, not processed): left for the next run;
* no answer that can be trusted (:class:`~shopprivacy.errors.OutcomeUnknown`, or from the shop's own
  ``charge`` a connection error, ``http.client`` protocol error or an answer that is not JSON): the platform
  may have billed. The call is repeated a few times with backoff, with the same key, which the platform
  deduplicates; if the outcome is still unknown the renewal stays open for the next run, never failed.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import OutcomeUnknown
from ..platforms import BillingResult

log = logging.getLogger("shopprivacy.renewals")

#: Exceptions from the shop's own ``charge`` that mean "no definite answer": the connection broke (``OSError``
#: covers ``ConnectionResetError``, timeouts and ``requests``' connection errors), the HTTP exchange was cut
#: off, or the answer was not JSON.
UNKNOWN_OUTCOME_ERRORS: tuple[type[Exception], ...] = (OSError, http.client.HTTPException, json.JSONDecodeError)


def unknown_outcome(exc: Exception) -> OutcomeUnknown | None:
    """``exc`` as an :class:`OutcomeUnknown` when it leaves the outcome of a billing call unknown, else None."""
    if isinstance(exc, OutcomeUnknown):
        return exc
    if isinstance(exc, UNKNOWN_OUTCOME_ERRORS):
        unknown = OutcomeUnknown(f"billing call ended without a definite answer ({type(exc).__name__})")
        unknown.__cause__ = exc
        return unknown
    return None


def cause_name(exc: BaseException) -> str:
    """The type name of the error behind ``exc`` (what a renewal's ``error_code`` records)."""
    return type(exc.__cause__ if isinstance(exc, OutcomeUnknown) and exc.__cause__ else exc).__name__


@dataclass
class UnknownOutcomeRetry:
    """How one run repeats billing calls whose outcome is unknown: ``tries`` calls at most per renewal, waiting
    ``backoff`` seconds, then twice that, ... (at least the platform's ``retry_after``, at most ``max_wait``).

    Once a renewal stays in doubt after all its tries the platform is taken to be unreachable or answering
    garbage: later renewals of the same run get one try each (until one gets a definite answer), so an
    outage cannot hold a run for hours.
    One instance per run (it holds that state); not shared between threads.
    """

    tries: int = 3
    backoff: float = 1.0
    max_wait: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    platform_in_doubt: bool = False

    def wait(self, attempt: int, hint: float | None) -> float:
        delay = self.backoff * float(2 ** (attempt - 1))
        return min(self.max_wait, max(delay, hint or 0.0))

    def call(self, bill: Callable[[], BillingResult], *, who: str) -> BillingResult:
        """``bill()`` until it gives a definite answer; raises :class:`OutcomeUnknown` when it never did, and
        passes a definite refusal (any other ``PlatformError``) on at once. ``who`` is a pseudonym for logs."""
        tries = 1 if self.platform_in_doubt else max(1, self.tries)
        attempt = 1
        while True:
            try:
                result = bill()
            except Exception as exc:
                unknown = unknown_outcome(exc)
                if unknown is None:
                    self.platform_in_doubt = False  # a definite refusal: the platform answers
                    raise
            else:
                self.platform_in_doubt = False
                return result
            if attempt >= tries:
                self.platform_in_doubt = True
                log.warning("renewal of %s: outcome unknown after %d call(s) (%s); left open for the next run, "
                            "same idempotency key", who, attempt, cause_name(unknown))
                raise unknown
            delay = self.wait(attempt, unknown.retry_after)
            log.info("renewal of %s: outcome unknown (%s); asking again with the same key in %.1fs", who,
                     cause_name(unknown), delay)
            self.sleep(delay)
            attempt += 1


__all__ = ["UNKNOWN_OUTCOME_ERRORS", "UnknownOutcomeRetry", "cause_name", "unknown_outcome"]
