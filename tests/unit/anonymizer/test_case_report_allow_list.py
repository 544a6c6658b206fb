"""Clinical words, states and countries stay; the record's own values go in any rendering."""

from __future__ import annotations

import pytest

from medshare_anonymizer.case_report import detector
from medshare_anonymizer.case_report.known_identifiers import KnownIdentifiers, Needle


@pytest.mark.parametrize(
    ("sentence", "kept"),
    [
        ("Blood cultures grew Candida albicans on day three.", "Candida albicans"),
        ("Sputum grew Acinetobacter baumannii resistant to meropenem.", "Acinetobacter baumannii"),
        ("The rash and fever suggested Kawasaki disease in the toddler.", "Kawasaki disease"),
        ("Exophthalmos and tremor fit Graves' disease.", "Graves"),
        ("She moved here from Ohio last spring.", "Ohio"),
        ("He travelled to India in March without a fever.", "India"),
    ],
)
def test_clinical_language_and_states_survive(sentence: str, kept: str) -> None:
    scrubbed, _ = detector.scrub(sentence)
    assert kept in scrubbed


def test_a_titled_name_is_still_redacted_when_it_is_a_word() -> None:
    scrubbed, _ = detector.scrub("Seen today by Dr. Bell in clinic.")
    assert "Bell" not in scrubbed


def test_a_city_is_redacted_but_its_state_kept() -> None:
    scrubbed, _ = detector.scrub("Lives alone in Springfield, Illinois with her son.")
    assert "Springfield" not in scrubbed


def _known(*needles: Needle) -> KnownIdentifiers:
    return KnownIdentifiers(list(needles))


def test_known_digits_match_with_any_separators_but_not_inside_longer_numbers() -> None:
    known = _known(Needle("PHONE", "phone", "2175550142", "digits"))
    assert known.scrub("call (217) 555-0142 today")[0] == "call [PHONE] today"
    assert known.scrub("ref 921755501429")[0] == "ref 921755501429"


def test_known_words_match_whole_tokens_across_whitespace() -> None:
    known = _known(
        Needle("NAME", "name", "rosalind quimby"), Needle("NAME", "name", "la", "text", True)
    )
    assert known.scrub("met ROSALIND\n  Quimby")[0] == "met [NAME]"
    assert known.occurs_in("Louisiana, LA") is False
    assert known.occurs_in("Marie la Fontaine") is True
