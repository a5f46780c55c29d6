"""Customer operations: lookup, e-mail and SMS marketing consent, data export, correction and erasure requests.

Each query selects what its purpose needs: a lookup asks for the id only; the consent update reads the
time of the consent Shopify holds and returns the id only; only the export (the customer's own data
request) reads names, addresses and orders. A correction (``customerUpdate``) sends the corrected fields
only and reads back the id; the erasure read-back asks for the id only (a customer Shopify erased is gone).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shopprivacy.errors import InvalidInput
from shopprivacy.platforms import (
    CustomerRef,
    ErasureCheck,
    ErasureReceipt,
    MarketingConsentUpdate,
    RectifyReceipt,
    SaleOptOut,
    SaleOptOutReceipt,
    SmsConsentUpdate,
)

from .client import AdminClient
from .errors import ShopifyError, ShopifyGraphQLError, ShopifyResponseError

log = logging.getLogger("shopprivacy.shopify")

CUSTOMER_GID = "gid://shopify/Customer/"
_GID = re.compile(r"^gid://shopify/Customer/\d{1,20}$")

BY_ID = "query CustomerById($id: ID!) { customer(id: $id) { id } }"
BY_EMAIL = ("query CustomerByEmail($email: String!) { "
            "customerByIdentifier(identifier: {emailAddress: $email}) { id } }")
CONSENT_HELD = ("query CustomerMarketingConsent($id: ID!) { customer(id: $id) { id "
                "defaultEmailAddress { marketingUpdatedAt } } }")
CONSENT = ("mutation CustomerEmailMarketingConsentUpdate($input: CustomerEmailMarketingConsentUpdateInput!) { "
           "customerEmailMarketingConsentUpdate(input: $input) { customer { id } "
           "userErrors { field message code } } }")
SMS_CONSENT = ("mutation CustomerSmsMarketingConsentUpdate($input: CustomerSmsMarketingConsentUpdateInput!) { "
               "customerSmsMarketingConsentUpdate(input: $input) { customer { id } "
               "userErrors { field message code } } }")
ERASE = ("mutation CustomerRequestDataErasure($id: ID!) { customerRequestDataErasure(customerId: $id) { "
         "customerId userErrors { field message code } } }")
RECTIFY = ("mutation CustomerRectify($input: CustomerInput!) { customerUpdate(input: $input) { customer { id } "
           "userErrors { field message } } }")
#: The customer's opt-out of data sale (Admin API ``dataSaleOptOut``, by e-mail address), and the address of a
#: customer known by id only.
SALE_OPT_OUT = ("mutation DataSaleOptOut($email: String!) { dataSaleOptOut(email: $email) { customerId "
                "userErrors { field message code } } }")
EMAIL_OF = ("query CustomerEmailAddress($id: ID!) { customer(id: $id) { id "
            "defaultEmailAddress { emailAddress } } }")
_ADDRESS = "firstName lastName company address1 address2 city provinceCode countryCodeV2 zip phone"
EXPORT = ("query CustomerExport($id: ID!) { customer(id: $id) { id firstName lastName note tags locale "
          "createdAt updatedAt defaultEmailAddress { emailAddress marketingState marketingOptInLevel "
          "marketingUpdatedAt } defaultPhoneNumber { phoneNumber } "
          f"addressesV2(first: 50) {{ nodes {{ {_ADDRESS} }} }} }} }}")
EXPORT_ORDERS = ("query CustomerExportOrders($id: ID!, $after: String) { customer(id: $id) { "
                 "orders(first: 10, after: $after) { nodes { id name createdAt currencyCode "
                 "totalPriceSet { shopMoney { amount currencyCode } } "
                 f"shippingAddress {{ {_ADDRESS} }} billingAddress {{ {_ADDRESS} }} "
                 "lineItems(first: 30) { nodes { name sku quantity } } } "
                 "pageInfo { hasNextPage endCursor } } } }")

#: Portal fields a correction writes, and their ``CustomerInput`` fields.
RECTIFY_FIELDS = {"email": "email", "first_name": "firstName", "last_name": "lastName", "phone": "phone"}
#: Portal fields Shopify cannot take as they are, and why (they are corrected in the Shopify admin).
RECTIFY_MANUAL = {
    "name": "Shopify keeps the first and last names apart; correct the name in the Shopify admin",
    "address": "Shopify keeps addresses as structured fields (one address per record); correct it in the Shopify "
               "admin",
}
#: What Shopify's erasure leaves, per its help centre ("Processing customer data requests").
KEPT_AFTER_ERASURE = {"orders": "Shopify keeps what was sold, when and for how much; it redacts the customer's "
                                "personal data on the orders"}
#: Shopify holds an erasure for a customer with recent orders until 180 days after the last one: read weekly.
RECHECK_SECONDS = 7 * 24 * 3600.0

_LEVELS = {"single_opt_in": "SINGLE_OPT_IN", "confirmed_opt_in": "CONFIRMED_OPT_IN", "unknown": "UNKNOWN"}


def customer_gid(customer_id: str | int) -> str:
    """``gid://shopify/Customer/N`` from a gid or the numeric id webhooks carry; InvalidInput otherwise."""
    text = str(customer_id).strip()
    if text.isdigit() and len(text) <= 20:
        return CUSTOMER_GID + text
    if _GID.match(text):
        return text
    raise InvalidInput("not a Shopify customer id")


class CustomerOperations:
    """CustomerDirectory, MarketingConsentSink, PersonalDataHost, CustomerRectifier and ErasureVerifier over the
    Admin API."""

    name = "shopify"
    client: AdminClient

    def find_customer(self, *, email: str | None = None, customer_id: str | None = None) -> CustomerRef | None:
        """The customer, or None when Shopify answers that there is none; ShopifyResponseError (retryable)
        when the answer is malformed, so a broken answer is never taken for "no such customer"."""
        if customer_id:
            operation, field = "CustomerById", "customer"
            data = self.client.execute(operation, BY_ID, {"id": customer_gid(customer_id)})
        elif email and "@" in email:
            operation, field = "CustomerByEmail", "customerByIdentifier"
            data = self.client.execute(operation, BY_EMAIL, {"email": email.strip()})
        else:
            raise InvalidInput("find_customer needs an e-mail or a customer id")
        node = _node(data, field, operation)
        return None if node is None else CustomerRef(id=node["id"], email=email.strip() if email else None)

    def set_marketing_consent(self, update: MarketingConsentUpdate, *, idempotency_key: str) -> None:
        """Mirror the state with ``customerEmailMarketingConsentUpdate`` and its ``consentUpdatedAt``. When
        Shopify already holds a newer consent (``marketingUpdatedAt``), nothing is sent: a late retry never
        overwrites a newer state. Setting the same state again is harmless."""
        customer_id = update.customer_id
        if not customer_id and update.email:
            found = self.find_customer(email=update.email)
            if found is None:
                raise ShopifyError("no customer has this e-mail address", operation="CustomerByEmail",
                                   retryable=False)
            customer_id = found.id
        if not customer_id:
            raise InvalidInput("a marketing consent update needs a customer id or an e-mail address")
        held_at = self._consent_held_at(customer_gid(customer_id))
        if held_at is not None and held_at > update.consent_updated_at:
            log.info("shopify marketing consent not sent: Shopify holds a newer consent for this customer")
            return
        consent: dict[str, Any] = {
            "marketingState": "SUBSCRIBED" if update.subscribed else "UNSUBSCRIBED",
            "consentUpdatedAt": update.consent_updated_at.isoformat(),
        }
        if update.subscribed:
            consent["marketingOptInLevel"] = _LEVELS.get(update.opt_in_level, "UNKNOWN")
        self.client.mutate("CustomerEmailMarketingConsentUpdate", CONSENT,
                           {"input": {"customerId": customer_gid(customer_id), "emailMarketingConsent": consent}},
                           "customerEmailMarketingConsentUpdate")

    def set_sms_marketing_consent(self, update: SmsConsentUpdate, *, idempotency_key: str) -> None:
        """Mirror the SMS state with ``customerSmsMarketingConsentUpdate`` and its ``consentUpdatedAt``. Shopify
        keeps the record with the most recent ``consentUpdatedAt`` (``CustomerSmsMarketingConsentState``), so a
        late retry cannot overwrite a newer state; the time Shopify holds is not read first, as for e-mail, since
        no field reports it in every supported version without a deprecation. A customer without a phone number
        is a ``userErrors`` answer (ShopifyUserError, not retried)."""
        consent: dict[str, Any] = {
            "marketingState": "SUBSCRIBED" if update.subscribed else "UNSUBSCRIBED",
            "consentUpdatedAt": update.consent_updated_at.isoformat(),
        }
        if update.subscribed:
            consent["marketingOptInLevel"] = _LEVELS.get(update.opt_in_level, "UNKNOWN")
        self.client.mutate("CustomerSmsMarketingConsentUpdate", SMS_CONSENT,
                           {"input": {"customerId": customer_gid(update.customer_id), "smsMarketingConsent": consent}},
                           "customerSmsMarketingConsentUpdate")

    def _consent_held_at(self, gid: str) -> datetime | None:
        """When the e-mail marketing consent Shopify holds for the customer was last updated (None: never, or
        the app may not read it: then Shopify's own rule, the most recent ``consentUpdatedAt`` wins, is left)."""
        operation = "CustomerMarketingConsent"
        try:
            data = self.client.execute(operation, CONSENT_HELD, {"id": gid})
        except ShopifyGraphQLError as exc:
            if "ACCESS_DENIED" not in exc.codes:
                raise
            log.info("shopify consent time not readable (ACCESS_DENIED); sending the update with its time only")
            return None
        node = _node(data, "customer", operation)
        if node is None:
            raise ShopifyError("no customer has this id", operation=operation, retryable=False)
        address = node.get("defaultEmailAddress")
        if address is None:
            return None
        raw = address.get("marketingUpdatedAt") if isinstance(address, dict) else ""
        if raw is None:
            return None
        try:
            at = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            raise ShopifyResponseError("marketingUpdatedAt is not a date-time with offset", operation=operation)
        return at

    def export_customer(self, customer_id: str) -> dict[str, Any]:
        """The customer, their addresses and orders, as Shopify holds them (JSON-able)."""
        gid = customer_gid(customer_id)
        customer = self.client.execute("CustomerExport", EXPORT, {"id": gid}).get("customer")
        if not isinstance(customer, dict):
            return {"platform": "shopify", "customer": None, "addresses": [], "orders": []}
        addresses = (customer.pop("addressesV2", None) or {}).get("nodes", [])
        orders = []
        for order in self.client.paginate("CustomerExportOrders", EXPORT_ORDERS, {"id": gid}, ("customer", "orders")):
            items = order.pop("lineItems", None) or {}
            order["lineItems"] = items.get("nodes", []) if isinstance(items, dict) else []
            orders.append(order)
        return {"platform": "shopify", "customer": customer, "addresses": addresses, "orders": orders}

    def erase_customer(self, customer_id: str, *, idempotency_key: str) -> ErasureReceipt:
        """Ask Shopify to erase the customer (``customerRequestDataErasure``); Shopify completes it later."""
        gid = customer_gid(customer_id)
        self.client.mutate("CustomerRequestDataErasure", ERASE, {"id": gid}, "customerRequestDataErasure")
        return ErasureReceipt(platform="shopify", customer_id=gid, pending=True,
                              retained={"customer": "erasure requested; Shopify completes it on its own schedule"})

    def rectify_customer(self, customer_id: str, changes: Mapping[str, str], *,
                         idempotency_key: str) -> RectifyReceipt:
        """Correct the e-mail address, names and phone with ``customerUpdate`` (setting the same values again
        changes nothing, so a retry is safe); a single-line name or an address is left to the Shopify admin.
        A ``userErrors`` answer (e.g. an address another customer uses) is a ShopifyUserError, not retried."""
        gid = customer_gid(customer_id)
        manual = {k: RECTIFY_MANUAL.get(k, "Shopify has no such customer field") for k in changes
                  if k not in RECTIFY_FIELDS}
        values = {RECTIFY_FIELDS[k]: v.strip() for k, v in changes.items() if k in RECTIFY_FIELDS}
        if self.find_customer(customer_id=gid) is None:
            return RectifyReceipt(platform="shopify", customer_id=gid, manual=manual, found=False)
        if values:
            self.client.mutate("CustomerRectify", RECTIFY, {"input": {"id": gid, **values}}, "customerUpdate")
        return RectifyReceipt(platform="shopify", customer_id=gid, manual=manual,
                              corrected={k: f"customer.{RECTIFY_FIELDS[k]}" for k in changes if k in RECTIFY_FIELDS})

    def opt_out_of_sale(self, opt_out: SaleOptOut, *, idempotency_key: str) -> SaleOptOutReceipt:
        """Opt the customer out of data sale with ``dataSaleOptOut`` (by e-mail address; a customer known by id
        only is read for the address first). Shopify sets ``Customer.dataSaleOptOut``, which its apps and the
        Customer Privacy API honour; opting out again changes nothing, so a retry is safe."""
        email = (opt_out.email or "").strip() or None
        gid = customer_gid(opt_out.customer_id) if opt_out.customer_id else None
        if email is None and gid is not None:
            node = _node(self.client.execute("CustomerEmailAddress", EMAIL_OF, {"id": gid}), "customer",
                         "CustomerEmailAddress")
            if node is None:
                return SaleOptOutReceipt(platform="shopify", customer_id=gid, found=False)
            held = node.get("defaultEmailAddress")
            email = held.get("emailAddress") if isinstance(held, dict) else None
            if not isinstance(email, str) or "@" not in email:
                return SaleOptOutReceipt(platform="shopify", customer_id=gid, found=False,
                                         where="the customer has no e-mail address, which dataSaleOptOut needs")
        if email is None:
            raise InvalidInput("a sale opt-out needs a customer id or an e-mail address")
        payload = self.client.mutate("DataSaleOptOut", SALE_OPT_OUT, {"email": email}, "dataSaleOptOut")
        found = payload.get("customerId")
        return SaleOptOutReceipt(platform="shopify", customer_id=found if isinstance(found, str) else gid,
                                 where="customer.dataSaleOptOut")

    def verify_erasure(self, customer_id: str) -> ErasureCheck:
        """Read the customer back: gone once Shopify completed the erasure; still there while Shopify holds it
        (for up to 180 days after a recent order), to be read again in a week."""
        gid = customer_gid(customer_id)
        if self.find_customer(customer_id=gid) is None:
            return ErasureCheck(platform="shopify", customer_id=gid, retained=dict(KEPT_AFTER_ERASURE))
        return ErasureCheck(platform="shopify", customer_id=gid, remaining=("customer",), pending=True,
                            recheck_after=RECHECK_SECONDS)


def _node(data: dict[str, Any], field: str, operation: str) -> dict[str, Any] | None:
    """``data[field]``: None when Shopify answered null, the object when it has an id; otherwise the answer
    is malformed (ShopifyResponseError)."""
    if field not in data:
        raise ShopifyResponseError(f"the answer has no {field}", operation=operation)
    node = data[field]
    if node is None:
        return None
    if not isinstance(node, dict) or not isinstance(node.get("id"), str):
        raise ShopifyResponseError(f"the answer's {field} has no id", operation=operation)
    return node


__all__ = ["CUSTOMER_GID", "KEPT_AFTER_ERASURE", "RECTIFY_FIELDS", "CustomerOperations", "customer_gid"]
