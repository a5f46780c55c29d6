"""A platform reached over HTTP (a tiny PersonalDataHost written here, mocked with ``responses``): export is
synchronous, erasure goes through the outbox with its idempotency key and survives a 503 with Retry-After."""

import json

import requests
import responses

from shopprivacy import ShopPrivacy
from shopprivacy.errors import PlatformError
from shopprivacy.platforms import ErasureReceipt

API = "https://platform.test/api"


class HttpHost:
    name = "httpshop"

    def __init__(self):
        self.session = requests.Session()

    def close(self):
        self.session.close()

    def export_customer(self, customer_id):
        r = self.session.get(f"{API}/customers/{customer_id}/export", timeout=5)
        r.raise_for_status()
        return r.json()

    def erase_customer(self, customer_id, *, idempotency_key):
        r = self.session.post(f"{API}/customers/{customer_id}/erase", headers={"Idempotency-Key": idempotency_key},
                              timeout=5)
        if r.status_code in (429, 503):
            raise PlatformError("platform busy", retry_after=float(r.headers.get("Retry-After", "1")))
        r.raise_for_status()
        body = r.json()
        return ErasureReceipt(platform=self.name, customer_id=customer_id, erased=tuple(body["erased"]),
                              retained=body.get("retained", {}), pending=body.get("pending", False))


@responses.activate
def test_export_and_erasure_through_an_http_platform(settings, store, clock):
    sp = ShopPrivacy(settings, store=store, clock=clock, adapter=HttpHost())
    sp.rights.set_sender([].append)
    responses.get(f"{API}/customers/gid-7/export", json={"customer": {"id": "gid-7", "orders": 12}})
    exp = sp.rights.open("export", {"customer_id": "gid-7"}, verified_by="staff", external_id="staff:d1")
    assert sp.rights.process(exp.id).state == "done"

    calls = []

    def erase(request):
        calls.append(request.headers["Idempotency-Key"])
        if len(calls) == 1:
            return 503, {"Retry-After": "30"}, ""
        return 200, {}, json.dumps({"erased": ["email", "addresses"], "retained": {"orders": "tax law"}})

    responses.add_callback(responses.POST, f"{API}/customers/gid-7/erase", callback=erase)
    er = sp.rights.open("erase", {"customer_id": "gid-7"}, verified_by="staff", external_id="staff:r1")
    assert sp.rights.process(er.id).state == "in_progress"
    report = sp.outbox.deliver_due()
    assert report.retried == 1 and sp.rights.get(er.id).state == "in_progress"  # a failure is never "done"
    clock.advance(seconds=60)
    sp.run_due()
    assert sp.rights.get(er.id).state == "done"
    assert len(set(calls)) == 1 and len(calls) == 2  # the same idempotency key on the retry
    fields = {f.field: f for s in sp.rights.receipt(er.id).sources for f in s.fields}
    assert fields["orders"].outcome == "retained" and fields["orders"].reason == "tax law"
    sp.close()
