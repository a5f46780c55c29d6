"""The WSGI app the one-click benchmark serves with gunicorn (``_oneclick_app:create_app()``): the Flask
extension's pages (RFC 8058 one-click at ``/privacy/unsubscribe``) and ``/durable``, the floor of any durable
answer: one INSERT committed through the same store before the 200. Configured by ``BENCH_ONECLICK_CONFIG`` (a
JSON file the benchmark writes)."""

from __future__ import annotations

import json
import os

import flask
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from shopprivacy.integrations.flask import ShopPrivacyFlask

SCRATCH = Table("bench_durable", MetaData(), Column("id", Integer, primary_key=True), Column("t", String(40)))


def create_app() -> flask.Flask:
    with open(os.environ["BENCH_ONECLICK_CONFIG"], encoding="utf-8") as f:
        config = json.load(f)
    app = flask.Flask("bench_oneclick")
    app.config.update(config)
    ShopPrivacyFlask(app)
    sp = ShopPrivacyFlask.sp(app)
    durable = insert(SCRATCH)

    @app.post("/durable")
    def durable_insert() -> tuple[str, int]:
        with sp.store.begin() as conn:
            conn.execute(durable, {"t": flask.request.args.get("t", "")[:40]})
        return "ok", 200

    return app

