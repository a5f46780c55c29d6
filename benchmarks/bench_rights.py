"""Rights: export of a customer with 1 000 orders from local sources (a shop table through TableSource, the
local reference shop, the SDK's own data) into the encrypted zip, in seconds (target <= 1 s), printed beside
a raw baseline: a plain SELECT, json.dumps and zipfile of the same rows."""

from __future__ import annotations

import io
import json
import tempfile
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, DateTime, MetaData, Numeric, String, Table, create_engine, insert, select

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.rights import Retain, TableSource, archive
from shopprivacy.rights.tables import exports

N = 1000


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'sp.db'}"
    sp = ShopPrivacy(Settings(database_url=url, keyset=Keyset.generate().to_json(),
                              platform_options={"database_url": f"sqlite:///{tmp / 'platform.db'}"}))
    sp.store.upgrade()
    sp.rights.set_sender(lambda notice: None)
    shop = create_engine(f"sqlite:///{tmp / 'shop.db'}")
    orders = Table("orders", MetaData(), Column("id", String(20), primary_key=True),
                   Column("email", String(320)), Column("name", String(200)), Column("address", String(400)),
                   Column("sku", String(40)), Column("total", Numeric(10, 2), nullable=False),
                   Column("placed_at", DateTime, nullable=False))
    orders.metadata.create_all(shop)
    start = datetime(2024, 1, 1)
    with shop.begin() as conn:
        conn.execute(insert(orders), [{"id": f"o{i:05d}", "email": "jane@example.com", "name": "Jane Doe",
                                       "address": "1 Rue de la Paix, 75002 Paris", "sku": f"SKU-{i % 37}",
                                       "total": "19.90", "placed_at": start + timedelta(hours=i)} for i in range(N)])
    sp.adapter.add_customer("jane@example.com", first_name="Jane", last_name="Doe")
    sp.email.suppress("jane@example.com", "newsletter")
    sp.rights.register_source(TableSource(
        "orders", shop, orders, subject_column="email", fields=("email", "name", "address", "sku", "total",
                                                                 "placed_at"),
        actions={"total": Retain("invoices: tax law"), "placed_at": Retain("invoices: tax law")}))

    best = float("inf")
    for _ in range(3):
        req = sp.rights.open("export", {"email": "jane@example.com"}, verified_by="bench")
        t0 = time.perf_counter()
        done = sp.rights.process(req.id)
        best = min(best, time.perf_counter() - t0)
        with sp.store.begin(write=False) as conn:
            wrapped, sealed = conn.execute(select(exports.c.wrapped_key, exports.c.archive)
                                           .where(exports.c.request_id == req.id)).one()
        data = zipfile.ZipFile(io.BytesIO(archive.open_sealed(sp.fields, sealed, wrapped, request_id=req.id)))
        assert len(json.loads(data.read("data.json"))["sources"]["orders"]["rows"]) == N
        assert done.state == "done"  # the next round opens a fresh request (a closed one is never merged into)

    def raw() -> bytes:
        with shop.connect() as conn:
            rows = [{k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if k == "total" else v)
                     for k, v in r._mapping.items()} for r in conn.execute(select(orders).where(
                         orders.c.email == "jane@example.com").order_by(orders.c.id))]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("data.json", json.dumps(rows))
        return buf.getvalue()

    base = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        raw()
        base = min(base, time.perf_counter() - t0)
    print(f"export of a customer with {N} orders (shop table + local shop + SDK data, JSON + HTML report, "
          f"encrypted, audited): ours {best:.3f} s, raw SELECT + json.dumps + zip {base:.3f} s, "
          f"ratio {best / base:.1f}x (target <= 1 s absolute)")
    sp.close()
    shop.dispose()


if __name__ == "__main__":
    main()
