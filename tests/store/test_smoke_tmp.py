from shopprivacy.store import AuditLog, Outbox
from shopprivacy.settings import OutboxSettings

def test_smoke(store, keyring):
    audit = AuditLog(store, keyring)
    for i in range(5):
        audit.record(actor="t", action="a", subject="p_x", fields=["email"], meta={"n": i})
    assert audit.verify().entries == 5
    ob = Outbox(store, OutboxSettings())
    seen = []
    ob.register("x", lambda d: seen.append(d.payload))
    assert ob.add("x", {"a": 1}, idempotency_key="k1")
    assert not ob.add("x", {"a": 1}, idempotency_key="k1")
    r = ob.deliver_due()
    assert r.delivered == 1 and seen == [{"a": 1}]
