"""``shopprivacy doctor`` findings for WooCommerce: reachability, keys, and personal-data retention settings.

WooCommerce → Settings → Accounts & Privacy → *Personal data retention* stores each period as an option
``{"number": "", "unit": "months"}``; a blank number keeps the data forever. These options have the
setting type ``relative_date_selector``, which the REST settings controller leaves out of
``/wc/v3/settings/account`` (its ``is_setting_type_valid`` list lacks that type), so the adapter reads them
through ``/wp-json/wc-admin/options``: deprecated, answered for administrators on production sites,
refused on sites whose ``wp_get_environment_type()`` is not ``production``. When it is refused the
finding says where to check by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from .errors import WooAuthError, WooCommerceError, WooNotFound

if TYPE_CHECKING:
    from .client import WooClient
    from .settings import WooCommerceOptions

Level = Literal["ok", "warning", "problem"]

#: Retention options and what a blank value keeps forever.
RETENTION_OPTIONS: Mapping[str, str] = {
    "woocommerce_delete_inactive_accounts": "inactive customer accounts",
    "woocommerce_trash_pending_orders": "pending orders",
    "woocommerce_trash_failed_orders": "failed orders",
    "woocommerce_trash_cancelled_orders": "cancelled orders",
    "woocommerce_anonymize_refunded_orders": "personal data of refunded orders",
    "woocommerce_anonymize_completed_orders": "personal data of completed orders",
}
#: Checkbox options that ``/settings/account`` does expose.
ERASURE_OPTIONS: Mapping[str, str] = {
    "woocommerce_erasure_request_removes_order_data": "order data",
    "woocommerce_erasure_request_removes_download_data": "download data",
}
_UNITS = frozenset({"days", "weeks", "months", "years"})
_WHERE = "WooCommerce → Settings → Accounts & Privacy → Personal data retention"


def retention_period(value: Any) -> str | None:
    """``"6 months"`` for a set period; None when blank (kept forever) or unreadable."""
    if isinstance(value, Mapping):
        number, unit = value.get("number"), value.get("unit")
        text = str(number).strip() if isinstance(number, (int, str)) and not isinstance(number, bool) else ""
        if text.isascii() and text.isdigit() and int(text) > 0 and unit in _UNITS:
            return f"{int(text)} {unit}"
    return None


class RetentionAuditMixin:
    """``doctor()`` for :class:`~shopprivacy_woocommerce.WooCommerceAdapter`."""

    client: WooClient
    options: WooCommerceOptions

    def doctor(self) -> Iterator[tuple[Level, str]]:
        """(level, message) findings: key access, webhook secret, erasure options, blank retention periods."""
        if self.options.allow_insecure_http:
            yield "warning", "allow_insecure_http is on: REST keys travel unencrypted (local test stores only)"
        if self.options.webhook_secret is None:
            yield "warning", "no webhook_secret: WooCommerce webhooks will be refused with 401"
        try:
            settings = self.client.get("settings/account", fields=("id", "value"),
                                       operation="GET settings/account")
        except WooAuthError:
            yield "problem", ("the REST key cannot read settings: give it Read access and an administrator "
                              "(manage_woocommerce) owner")
            return
        except WooCommerceError as exc:
            yield "problem", str(exc)
            return
        values = {s.get("id"): s.get("value") for s in settings or [] if isinstance(s, Mapping)}
        yield "ok", f"REST API v3 reachable at {self.options.host}"
        for option, what in ERASURE_OPTIONS.items():
            if values.get(option) == "no":
                yield "warning", (f"{option} is off: WordPress erasure requests keep {what} "
                                  "(the SDK's own erasure anonymises orders over REST regardless)")
        yield from self._retention_findings()

    def _retention_findings(self) -> Iterator[tuple[Level, str]]:
        names = list(RETENTION_OPTIONS)
        try:
            data = self.client.get("options", fields=names, operation="GET wc-admin/options",
                                   params={"options": ",".join(names)}, namespace="wc-admin")
        except (WooAuthError, WooNotFound):
            yield "warning", ("personal-data retention periods cannot be read over REST on this site "
                              f"(wc-admin options refused); check {_WHERE}: blank periods keep data forever")
            return
        except WooCommerceError as exc:
            yield "warning", f"personal-data retention periods not checked: {exc}"
            return
        if not isinstance(data, Mapping):
            yield "warning", f"personal-data retention periods not readable; check {_WHERE}"
            return
        blank = []
        for option, what in RETENTION_OPTIONS.items():
            if option not in data:
                continue  # an older WooCommerce without this option
            period = retention_period(data[option])
            if period is None:
                blank.append(option)
                yield "warning", f"{option} is blank: {what} are kept forever (set a period in {_WHERE})"
        if not blank:
            yield "ok", "every personal-data retention period is set"


__all__ = ["ERASURE_OPTIONS", "RETENTION_OPTIONS", "RetentionAuditMixin", "retention_period"]
