"""The shop's pages: products, sign-up and login, the account (newsletter, subscription, delete account)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from shopprivacy.errors import ConflictError, InvalidInput, RateLimited

from ..shop_common import newsletter, texting
from ..shop_common.shopping import erase_account, start_subscription
from .accounts import Customer
from .context import shop
from .db import products

bp = Blueprint("shop", __name__)


def _customer() -> Customer | None:
    """The signed-in customer, read and decrypted once per request (the view and the page frame share it)."""
    if "shop_customer" in g:
        return g.shop_customer  # type: ignore[no-any-return]
    cid = session.get("customer")
    customer = shop().accounts.get(str(cid)) if cid else None
    if cid and customer is None:  # deleted meanwhile
        session.pop("customer", None)
    g.shop_customer = customer
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
        return render_template("signup.html", form={}, sms_wording=texting.WORDING)
    form = request.form
    s = shop()
    try:
        if form.get("texts") == "yes":  # checked first, so a bad number creates no account
            texting.check(s.sp, form.get("phone", ""))
        cid = s.accounts.sign_up(form.get("email", ""), form.get("password", ""),
                                 first_name=form.get("first_name", ""), phone=form.get("phone", ""),
                                 address=form.get("address", ""))
    except (InvalidInput, ConflictError) as exc:
        return render_template("signup.html", form={k: v for k, v in form.items() if k != "password"},
                               error=str(exc), sms_wording=texting.WORDING), 400
    session.clear()
    session["customer"] = cid
    if form.get("texts") == "yes":
        texting.opt_in(s.sp, form["phone"], customer_ref=cid, source="signup-form", ip=request.remote_addr,
                       user_agent=request.user_agent.string)
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
                           texts=texting.state(s.sp, customer.phone),
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
    sid = start_subscription(s.sp, s.platform, customer, product,
                             link=lambda pid: s.accounts.link_platform(customer.id, pid),
                             ip=request.remote_addr, user_agent=request.user_agent.string)
    flash(f"Subscribed to {product.name}. The next delivery renews in a month." if sid else
          f"You already subscribe to {product.name}.")
    return redirect(url_for("shop.account"))


@bp.post("/account/delete")
def delete_account() -> ResponseReturnValue:
    """Erase the account through ``sp.rights`` once the password is entered again; the page is the receipt
    (what was erased, what was kept and why)."""
    customer = _require_login()
    s = shop()
    if s.accounts.authenticate(customer.email, request.form.get("password", "")) != customer.id:
        flash("That password is not right; your account was not deleted.")
        return redirect(url_for("shop.account")), 303
    receipt = erase_account(s.sp, customer.email, locale=request.accept_languages.best or None,
                            ip=request.remote_addr, phone=texting.e164_or_none(s.sp, customer.phone))
    session.clear()
    return render_template("deleted.html", receipt=receipt)
