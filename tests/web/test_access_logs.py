"""Link tokens out of access logs (shopprivacy.web.access_logs): the value of ``t=`` is redacted in the records
of werkzeug, runserver, django.request, gunicorn and uvicorn, whatever shape their arguments have."""

import logging

from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.web.access_logs import ACCESS_LOGGERS, RedactLinkTokens, install, redact

TOKEN = "eyJzIjoiYzF0NXN1YmplY3QiLCJsIjoibmV3c2xldHRlciJ9.aBcD12.ZyXwVuTsRqPoNmLkJiHgFeDcBa-_0987654321"
tokens = st.text(alphabet=st.characters(categories=["L", "N"], max_codepoint=127) | st.sampled_from("-_.~%="),
                 min_size=1, max_size=120)


def format_with_filter(msg, args, **extra):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    assert RedactLinkTokens().filter(record) is True  # records are rewritten, never dropped
    return record, record.getMessage()


@given(token=tokens, before=st.sampled_from(["", "lang=fr&", "a=1;"]), after=st.sampled_from(["", "&lang=fr"]))
def test_the_token_never_survives_and_other_parameters_stay(token, before, after):
    line = f'"GET /privacy/unsubscribe?{before}t={token}{after} HTTP/1.1" 200 1095'
    out = redact(line)
    assert f"t={token}" not in out and f"{before}t=[redacted]{after} HTTP/1.1" in out
    assert redact(f"{before}t={token}{after}") == f"{before}t=[redacted]{after}"  # a bare query string


def test_lookalike_parameters_and_plain_text_are_left_alone():
    for text in ("/search?format=json&at=5", "set t=1 in the config", "GET /shop?st=ok HTTP/1.1"):
        assert redact(text) == text


def test_werkzeug_and_runserver_records_with_a_tuple_of_arguments():
    _, message = format_with_filter('"%s" %s %s', (f"GET /privacy/unsubscribe?t={TOKEN} HTTP/1.1", 200, 95))
    assert message == '"GET /privacy/unsubscribe?t=[redacted] HTTP/1.1" 200 95'
    _, message = format_with_filter(f"127.0.0.1 - - GET /privacy/email/preferences?t={TOKEN}", None)
    assert TOKEN not in message


def test_uvicorn_records():
    args = ("203.0.113.9:5000", "POST", f"/privacy/unsubscribe?t={TOKEN}", "1.1", 200)
    _, message = format_with_filter('%s - "%s %s HTTP/%s" %d', args)
    assert TOKEN not in message and "/privacy/unsubscribe?t=[redacted]" in message


class Atoms(dict):
    """Like gunicorn's SafeAtoms: a dict subclass answering "-" for a header it does not hold."""

    def __getitem__(self, key):
        if key.startswith("{"):
            return super().get(key.lower(), "-")
        return super().__getitem__(key)


def test_gunicorn_records_keep_their_atoms_type():
    atoms = Atoms({"h": "203.0.113.9", "r": f"GET /privacy/unsubscribe?t={TOKEN}&lang=de HTTP/1.1",
                   "U": "/privacy/unsubscribe", "q": f"t={TOKEN}&lang=de", "s": "200",
                   "{raw_uri}e": f"/privacy/unsubscribe?t={TOKEN}&lang=de"})
    fmt = '%(h)s "%(r)s" %(s)s q=%(q)s %({raw_uri}e)s %({x-forwarded-for}i)s'
    record, message = format_with_filter(fmt, (atoms,))
    assert type(record.args) is Atoms and TOKEN not in message
    assert message == ('203.0.113.9 "GET /privacy/unsubscribe?t=[redacted]&lang=de HTTP/1.1" 200 '
                       "q=t=[redacted]&lang=de /privacy/unsubscribe?t=[redacted]&lang=de -")


class DjangoRequest:
    def __init__(self, query):
        self.META = {"QUERY_STRING": query, "REMOTE_ADDR": "203.0.113.9"}


def test_a_django_request_carrying_a_token_is_not_handed_to_log_handlers():
    record, _ = format_with_filter("%s: %s", ("Service Unavailable", "/privacy/unsubscribe"),
                                   request=DjangoRequest(f"t={TOKEN}"), status_code=503)
    assert record.request is None  # AdminEmailHandler would mail its full query string
    record, _ = format_with_filter("%s: %s", ("Not Found", "/shop"), request=DjangoRequest("q=shoes"))
    assert record.request.META["QUERY_STRING"] == "q=shoes"


def test_install_adds_the_filter_once_to_every_access_logger():
    install()
    install()
    for name in ACCESS_LOGGERS:
        assert sum(isinstance(f, RedactLinkTokens) for f in logging.getLogger(name).filters) == 1
