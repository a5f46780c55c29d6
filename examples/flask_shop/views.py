"""The shop's pages: products, sign-up and login, the account (newsletter, subscription, delete account)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from shopprivacy.errors import ConflictError, InvalidInput, RateLimited

from ..shop_common import newsletter
from .accounts import Customer
from .context import shop
from .db import products

bp = Blueprint("shop", __name__)


def _customer() -> Customer | None:
    cid = session.get("customer")
    if not cid:
        return None
    customer = shop().accounts.get(str(cid))
    if customer is None:  # deleted meanwhile
        session.pop("customer", None)
    return customer


def _require_login() -> Customer:
    customer = _customer()
    if customer is None:
        abort(redirect(url_for("shop.login")))
    return customer


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {"customer": _customer() if "customer" in session else None,
            "analytics_allowed": g.get("shopprivacy_consent") is not None and g.shopprivacy_consent.allows("analytics")}


@bp.get("/")
def index() -> ResponseReturnValue:
    with shop().engine.connect() as conn:
        items = conn.execute(select(products).order_by(products.c.interval.is_(None), products.c.id)).all()
    return render_template("index.html", products=items)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("signup.html", form={})
    form = request.form
    s = shop()
    try:
        cid = s.accounts.sign_up(form.get("email", ""), form.get("password", ""),
                                 first_name=form.get("first_name", ""), phone=form.get("phone", ""),
                                 address=form.get("address", ""))
    except (InvalidInput, ConflictError) as exc:
        return render_template("signup.html", form={k: v for k, v in form.items() if k != "password"},
                               error=str(exc)), 400
    session.clear()
    session["customer"] = cid
    if form.get("newsletter") == "yes":
        try:
            newsletter.request(s.sp, s.mail, form["email"], source="signup-form", ip=request.remote_addr,
                               user_agent=request.user_agent.string)
            flash("Welcome! Please confirm the newsletter from the mail we just sent you.")
        except RateLimited:
            flash("Welcome! We sent several confirmation mails already; please check your inbox.")
    else:
        flash("Welcome! Your account is ready.")
    return redirect(url_for("shop.account"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html")
    cid = shop().accounts.authenticate(request.form.get("email", ""), request.form.get("password", ""))
    if cid is None:
        return render_template("login.html", error="Wrong e-mail address or password."), 401
    session.clear()
    session["customer"] = cid
    return redirect(url_for("shop.account"))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("shop.index"))


@bp.get("/account")
def account() -> ResponseReturnValue:
    customer = _require_login()
    s = shop()
    subs: list[dict[str, Any]] = []
    if customer.platform_customer_id:
        subs = s.platform.export_customer(customer.platform_customer_id).get("subscriptions", [])
    return render_template("account.html", newsletter=newsletter.state(s.sp, customer.email),
                           preferences_url=s.sp.email.preferences_url(customer.email), subscriptions=subs)


@bp.post("/account/newsletter")
def newsletter_opt_in() -> ResponseReturnValue:
    customer = _require_login()
    s = shop()
    try:
        newsletter.request(s.sp, s.mail, customer.email, source="account-page", ip=request.remote_addr,
                           user_agent=request.user_agent.string)
    except RateLimited:
        abort(429, description="We sent several confirmation mails already; please check your inbox.")
    flash("Almost done: please click the link in the mail we just sent you.")
    return redirect(url_for("shop.account"))


@bp.post("/subscribe/<product_id>")
def subscribe(product_id: str) -> ResponseReturnValue:
    """Start a subscription on the platform: the first month is billed now, renewals by ``flask renew``."""
    customer = _require_login()
    s = shop()
    with s.engine.connect() as conn:
        product = conn.execute(select(products).where(products.c.id == product_id[:40])).first()
    if product is None or product.interval is None:
        abort(404)
    platform = s.platform
    pid = customer.platform_customer_id
    if pid is None:
        found = platform.find_customer(email=customer.email)
        pid = found.id if found else platform.add_customer(customer.email, first_name=customer.first_name)
        s.accounts.link_platform(customer.id, pid)
    now = s.sp.clock()
    sid = platform.add_subscription(
        customer_ref=pid, amount=str(Decimal(product.price)), currency="EUR",
        lines=[{"variant_id": product.id, "quantity": 1, "unit_price": product.price, "requires_shipping": True}],
        interval={"unit": product.interval, "count": 1}, next_billing_at=now - timedelta(seconds=1),
        shipping_address={"name": customer.first_name or "", "text": customer.address or ""},
        email=customer.email,
        extra={"ip_address": request.remote_addr, "user_agent": request.user_agent.string[:400]})
    # the first period is billed at once, with an idempotency key of its own (a double click bills once)
    platform.create_billing_attempt(sid, idempotency_key=f"first:{sid}", origin_time=now)
    flash(f"Subscribed to {product.name}. The next delivery renews in a month.")
    return redirect(url_for("shop.account"))


@bp.post("/account/delete")
def delete_account() -> ResponseReturnValue:
    """Erase the account through ``sp.rights``: the signed-in customer re-enters the password, so the request
    starts verified; the SDK suppresses the address, the shop's row is crypto-shredded and deleted, the
    platform erases its copy through the outbox. The receipt shows what was erased and what was kept."""
    customer = _require_login()
    s = shop()
    if s.accounts.authenticate(customer.email, request.form.get("password", "")) != customer.id:
        flash("That password is not right; your account was not deleted.")
        return redirect(url_for("shop.account")), 303
    req = s.sp.rights.open("erase", {"email": customer.email}, channel="account", verified_by="shop-login",
                           locale=request.accept_languages.best or None, ip=request.remote_addr)
    done = s.sp.rights.process(req.id)
    session.clear()
    receipt = s.sp.rights.receipt(done.id)
    return render_template("deleted.html", receipt=receipt)
