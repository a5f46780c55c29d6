"""Route.respond, the one entry point of every integration: methods, bounds and malformed bodies are answered
with a 4xx before (or instead of) any write."""

from sqlalchemy import func, select

from shopprivacy.email.tables import suppressions
from shopprivacy.testing import respond
from shopprivacy.web import Request, Response
from shopprivacy.web.routes import Route

from ..email.conftest import esp, token_of  # noqa: F401 - esp is a fixture


def _suppressed(sp) -> int:
    with sp.store.begin(write=False) as conn:
        return conn.execute(select(func.count()).select_from(suppressions)).scalar_one()


def test_head_is_answered_as_get_and_never_acts(esp):
    """A link scanner's HEAD must not unsubscribe (Flask routes HEAD to every GET view)."""
    token = token_of(esp.email.unsubscribe_url("jane@example.com", "newsletter"))
    head = respond(esp, Request("HEAD", "/privacy/unsubscribe", query={"t": token}))
    assert head.status == 200 and b"<form" in head.body and _suppressed(esp) == 0
    assert respond(esp, Request("POST", "/privacy/unsubscribe", query={"t": token})).status == 200
    assert _suppressed(esp) == 1


def test_other_methods_get_405_with_allow():
    seen = []
    route = Route("x", "/x", ("GET", "POST"), lambda r: seen.append(r) or Response.text("ok"))
    for method in ("PUT", "DELETE", "OPTIONS", "PATCH", "G\x00T", ""):
        resp = route.respond(Request(method, "/x"))
        assert resp.status == 405 and resp.headers["Allow"] == "GET, POST"
    assert seen == []


def test_malformed_requests_reach_no_handler_or_get_the_parsers_4xx(esp):
    token = token_of(esp.email.unsubscribe_url("jane@example.com", "newsletter"))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    cases = (({"headers": {**form, "User-Agent": "a\nb"}, "body": b"List-Unsubscribe=One-Click"}, 400),
             ({"headers": form, "body": b"List-Unsubscribe=One-Click" + b"&x=1" * 100}, 400),
             ({"headers": form, "body": b"List-Unsubscribe=One-Click&x=%ff"}, 400),
             ({"headers": form, "body": b"x" * (64 * 1024 + 1)}, 413),
             ({"headers": {"X-Big": "x" * 20000}}, 431))
    for kw, status in cases:
        resp = respond(esp, Request("POST", "/privacy/unsubscribe", query={"t": token}, **kw))
        assert resp.status == status, kw
    assert _suppressed(esp) == 0


def test_a_route_may_accept_larger_bodies():
    route = Route("hook", "/hook", ("POST",), lambda r: Response.text(str(len(r.body))), max_body=1 << 20)
    assert route.respond(Request("POST", "/hook", body=b"x" * 500_000)).body == b"500000"
    assert route.respond(Request("POST", "/hook", body=b"x" * ((1 << 20) + 1))).status == 413


def test_invalid_input_a_handler_did_not_catch_is_a_400():
    from shopprivacy.errors import InvalidInput

    def handler(req):
        raise InvalidInput("text with a NUL character or a lone surrogate cannot be stored")

    resp = Route("x", "/x", ("POST",), handler).respond(Request("POST", "/x"))
    assert resp.status == 400 and b"NUL" in resp.body
