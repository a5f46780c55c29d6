"""The shop's pages, the SDK's endpoints under ``/privacy`` and the static files."""

from __future__ import annotations

from django.urls import include, path, re_path
from django.views.static import serve
from examples.shop_common import STATIC_DIR

from .store import views

urlpatterns = [
    path("", include("shopprivacy.integrations.django.urls")),
    path("", views.index, name="index"),
    path("signup", views.signup, name="signup"),
    path("login", views.login, name="login"),
    path("logout", views.logout, name="logout"),
    path("account", views.account, name="account"),
    path("account/newsletter", views.newsletter_opt_in, name="newsletter_opt_in"),
    path("account/delete", views.delete_account, name="delete_account"),
    path("subscribe/<str:product_id>", views.subscribe, name="subscribe"),
    # a real deployment lets the web server answer /static/; the example serves the folder itself
    re_path(r"^static/(?P<path>[A-Za-z0-9._-]+)$", serve, {"document_root": STATIC_DIR}),
]

handler400 = "examples.django_shop.store.security.bad_request"
handler403 = "examples.django_shop.store.security.forbidden"
handler404 = "examples.django_shop.store.security.not_found"
handler500 = "examples.django_shop.store.security.server_error"
