"""The shop's pages: products, sign-up and login, the account (newsletter, subscription, delete account)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from shopprivacy.errors import ConflictError, InvalidInput, RateLimited
from shopprivacy.integrations.django import get_sp

from ...shop_common import newsletter
from ...shop_common.shopping import erase_account, start_subscription
from . import accounts
from .models import Customer, Product
from .privacy import mail, platform
from .security import message


def _customer(request: HttpRequest) -> Customer | None:
    """The signed-in customer, read and decrypted once per request (the view and the page frame share it)."""
    if hasattr(request, "shop_customer"):
        known: Customer | None = request.shop_customer
        return known
    cid = request.session.get("customer")
    customer: Customer | None = Customer.objects.filter(id=str(cid)).first() if cid else None
    if cid and (customer is None or not customer.email):  # deleted meanwhile
        _log_out(request)
        return None
    request.shop_customer = customer
    return customer


def _log_out(request: HttpRequest) -> None:
    request.session.flush()
    request.shop_customer = None


def _log_in(request: HttpRequest, customer: Customer) -> None:
    request.session.cycle_key()  # a new session id at login (no fixation)
    request.session["customer"] = customer.id
    request.shop_customer = customer


def shop_context(request: HttpRequest) -> dict[str, Any]:
    """Template context of every page: the signed-in customer and whether analytics may run."""
    consent = getattr(request, "shopprivacy_consent", None)
    return {"customer": _customer(request) if hasattr(request, "session") else None,
            "analytics_allowed": consent is not None and consent.allows("analytics")}


def index(request: HttpRequest) -> HttpResponse:
    products = Product.objects.order_by("interval", "id")
    return render(request, "store/index.html", {"products": products})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "store/signup.html", {"form": {}})
    form = request.POST
    try:
        customer = accounts.sign_up(form.get("email", ""), form.get("password", ""),
                                    first_name=form.get("first_name", ""), phone=form.get("phone", ""),
                                    address=form.get("address", ""))
    except (InvalidInput, ConflictError) as exc:
        kept = {k: v for k, v in form.items() if k not in ("password", "csrfmiddlewaretoken")}
        return render(request, "store/signup.html", {"form": kept, "error": str(exc)}, status=400)
    _log_in(request, customer)
    if form.get("newsletter") == "yes":
        try:
            _request_newsletter(request, customer.email, source="signup-form")
            messages.info(request, "Welcome! Please confirm the newsletter from the mail we just sent you.")
        except RateLimited:
            messages.info(request, "Welcome! We sent several confirmation mails already; please check your inbox.")
    else:
        messages.info(request, "Welcome! Your account is ready.")
    return redirect("account")


def _request_newsletter(request: HttpRequest, address: str, *, source: str) -> None:
    newsletter.request(get_sp(), mail(), address, source=source, ip=request.META.get("REMOTE_ADDR"),
                       user_agent=request.headers.get("User-Agent", "")[:400])


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "store/login.html")
    customer = accounts.authenticate(request.POST.get("email", ""), request.POST.get("password", ""))
    if customer is None:
        return render(request, "store/login.html", {"error": "Wrong e-mail address or password."}, status=401)
    _log_in(request, customer)
    return redirect("account")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    _log_out(request)
    return redirect("index")


def signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view gets the signed-in customer after the request; anyone else goes to the login page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = _customer(request)
        if customer is None:
            return HttpResponseRedirect(reverse("login"))
        return view(request, customer, *args, **kwargs)

    return wrapped


@signed_in
def account(request: HttpRequest, customer: Customer) -> HttpResponse:
    sp = get_sp()
    subs: list[dict[str, Any]] = []
    if customer.platform_customer_id:
        subs = platform().export_customer(customer.platform_customer_id).get("subscriptions", [])
    return render(request, "store/account.html", {
        "newsletter": newsletter.state(sp, customer.email), "subscriptions": subs,
        "preferences_url": sp.email.preferences_url(customer.email)})


@signed_in
@require_POST
def newsletter_opt_in(request: HttpRequest, customer: Customer) -> HttpResponse:
    try:
        _request_newsletter(request, customer.email, source="account-page")
    except RateLimited:
        return message(request, "Too many attempts",
                       "We sent several confirmation mails already; please check your inbox.", 429)
    messages.info(request, "Almost done: please click the link in the mail we just sent you.")
    return redirect("account")


@signed_in
@require_POST
def subscribe(request: HttpRequest, customer: Customer, product_id: str) -> HttpResponse:
    """Start a subscription on the platform: the first month is billed now, renewals by ``renew``."""
    product = Product.objects.filter(id=product_id[:40]).first()
    if product is None or product.interval is None:
        raise Http404

    def link(pid: str) -> None:
        Customer.objects.filter(id=customer.id).update(platform_customer_id=pid)

    sid = start_subscription(get_sp(), platform(), customer, product, link=link,
                             ip=request.META.get("REMOTE_ADDR"), user_agent=request.headers.get("User-Agent", ""))
    messages.info(request, f"Subscribed to {product.name}. The next delivery renews in a month." if sid else
                  f"You already subscribe to {product.name}.")
    return redirect("account")


@signed_in
@require_POST
def delete_account(request: HttpRequest, customer: Customer) -> HttpResponse:
    """Erase the account through ``sp.rights`` once the password is entered again (``ModelSource`` shreds the
    customer's key and deletes the row); the page is the receipt (what was erased, what was kept and why)."""
    if accounts.authenticate(customer.email, request.POST.get("password", "")) is None:
        messages.info(request, "That password is not right; your account was not deleted.")
        return HttpResponseRedirect(reverse("account"), status=303)
    receipt = erase_account(get_sp(), customer.email, locale=getattr(request, "LANGUAGE_CODE", None),
                            ip=request.META.get("REMOTE_ADDR"))
    _log_out(request)
    return render(request, "store/deleted.html", {"receipt": receipt})
