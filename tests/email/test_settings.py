"""E-mail settings and mail values in other languages: list names found as pages find a language, and the text
direction a shop's HTML template needs."""

from shopprivacy.email import LinkMail
from shopprivacy.email.settings import MailingList


def test_a_list_name_is_found_for_any_spelling_of_its_language():
    names = MailingList(names={"en": "Newsletter", "pt-BR": "Boletim", "de": "Rundbrief", "no": "Nyhetsbrev"})
    assert names.name("pt-br") == "Boletim" and names.name("pt") == "Boletim"
    assert names.name("de-AT") == "Rundbrief" and names.name("nb") == "Nyhetsbrev"
    assert names.name("ja") == "Newsletter" and MailingList(names={"fr": "Lettre"}).name("ja") == "Lettre"


def test_a_link_mail_says_its_text_direction():
    mail = LinkMail(kind="preferences", to="a@example.com", link="https://x", locale="he")
    assert mail.direction == "rtl" and LinkMail(kind="preferences", to="a@example.com", link="https://x",
                                                locale="pt-BR").direction == "ltr"
