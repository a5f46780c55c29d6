import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.sms.keywords import START_WORDS, STOP_WORDS, classify


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "CANCEL", "end", "QUIT",
                                  "ARRET", "Arrêt", "arrêt !", "Stop texting me", "STOP please"])
def test_stop_words(body):
    assert classify(body) == "stop"


@pytest.mark.parametrize("body", ["START", "unstop", " Start "])
def test_start_words(body):
    assert classify(body) == "start"


@pytest.mark.parametrize("body", ["HELP", "help?", "Info", "AIDE"])
def test_help_words(body):
    assert classify(body) == "help"


@pytest.mark.parametrize("body", ["", "hello", "Start sending me offers", "YES", "please help me", "stopwatch",
                                  "I said don't stop"])
def test_other_messages(body):
    assert classify(body) is None


def test_extra_keywords_and_twilio_opt_out_type():
    assert classify("NOMORE", extra_stop=["NOMORE"]) == "stop"
    assert classify("hello", opt_out_type="STOP") == "stop"
    assert classify("hello", opt_out_type="start") == "start"
    assert classify("STOP", opt_out_type="SOMETHING") == "stop"


@given(st.text(max_size=2000), st.one_of(st.none(), st.text(max_size=20)))
def test_classify_never_fails(body, hint):
    assert classify(body, opt_out_type=hint) in (None, "stop", "start", "help")


@given(st.sampled_from(sorted(STOP_WORDS)), st.text(alphabet=" .!?", max_size=3), st.text(max_size=30))
def test_a_stop_word_first_is_always_an_opt_out(word, punct, rest):
    assert classify(f"{word.lower()}{punct} {rest}") == "stop"


def test_start_and_stop_do_not_overlap():
    assert not STOP_WORDS & START_WORDS


def test_a_shops_own_keyword_with_accents_matches_as_the_text_is_read():
    assert classify("désinscrire", extra_stop=["DÉSINSCRIRE"]) == "stop"
    assert classify("Désinscrire !", extra_stop=["désinscrire"]) == "stop"
    assert classify("REPRENDRE", extra_start=["Reprendre"]) == "start"
