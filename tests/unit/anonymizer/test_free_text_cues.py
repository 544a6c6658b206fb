"""Issue 11 rules: names after cues in any case or script, date and phone shapes, one pass.

Sentences are written for these tests (not taken from any corpus).
"""

from __future__ import annotations

import pytest

from medshare_anonymizer.case_report import ner
from medshare_anonymizer.case_report.detector import detect, scrub


def removed(text: str) -> list[str]:
    return [text[s.start : s.end] for s in detect(text)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Faxed to the office of Lindqvist, Margit MD today.", "Lindqvist, Margit"),
        ("Signed: van der Berg, Anneke MD", "van der Berg, Anneke"),
        ("Slides per Dr. Thảo 鈴木 this morning.", "Thảo 鈴木"),
        ("Letter copied to R. 王 at the practice.", "R. 王"),
        ("NP: orla mcbride", "orla mcbride"),
        ("Re: KOFI ANSAH 3/4/1950", "KOFI ANSAH"),
        ("Name: ANSAH, Kofi  DOB: 3/4/1950", "ANSAH, Kofi"),
        ("Her son rowan will drive her home.", "rowan"),
        ("Her nephew Grant brought the forms.", "Grant"),
        ("Neighbour Ruby Øvergaard called the ambulance.", "Ruby Øvergaard"),
        ("Emergency contact P. J. Mbeki, mobile unknown.", "P. J. Mbeki"),
        ("Accompanied by his wife Ελένη Σπύρου.", "Ελένη Σπύρου"),
    ],
)  # fmt: skip
def test_names_after_cues_in_any_case_or_script(text: str, name: str) -> None:
    at = text.index(name)
    assert any(s.start <= at and at + len(name) <= s.end for s in detect(text)), removed(text)


@pytest.mark.parametrize(
    "text",
    [
        "Her mother had breast cancer; father deceased. Her sister is well.",
        "Her brother will collect her after lunch.",
        "Family history: mother with Alzheimer's disease.",
        "Temp 38.4 C. Copy sent to the ward.",
        "Vitals: MAP 65, RR 22, SpO2 94%.",
        "Urine grew Legionella pneumophila 10^5 CFU/mL.",
        "Pain 4/10: better with paracetamol.",
        "History of West Nile virus in the late 1970s.",
    ],
)
def test_clinical_words_after_the_cues_stay(text: str) -> None:
    assert scrub(text)[0] == text, removed(text)


def test_a_name_before_an_eponym_is_cut_before_it() -> None:
    text = "Reviewed by Dr Amara Okafor Brudzinski's sign was negative."
    assert scrub(text)[0] == "Reviewed by Dr [NAME] Brudzinski's sign was negative."


def test_a_heading_is_not_a_surname() -> None:
    assert scrub("Specimen A42.\n\nGross: two cores of tan tissue.")[0].endswith(
        "Gross: two cores of tan tissue."
    )


@pytest.mark.parametrize(
    ("text", "value", "label"),
    [
        ("Message 7/4: please call back.", "7/4", "DATE"),
        ("Recheck potassium on 29/6 at the clinic.", "29/6", "DATE"),
        ("ID consult 2016.05.15: seen on the ward.", "2016.05.15", "DATE"),
        ("Seen 2019.03.02.", "2019.03.02", "DATE"),
        ("Pager 0665 for the registrar.", "0665", "PHONE"),
        ("Left a message on the number ending ...52-2243.", "52-2243", "PHONE"),
        ("Medicare MBI 7UT1-GF6-UU24 on file.", "7UT1-GF6-UU24", "ID"),
        ("Unit No. RJ1 710 128K noted.", "RJ1 710 128K", "ID"),
        ("Moved to RR 3, Box 12 last year.", "RR 3, Box 12", "ADDRESS"),
    ],
)  # fmt: skip
def test_shapes_after_cues(text: str, value: str, label: str) -> None:
    assert {text[s.start : s.end]: s.label for s in detect(text)}.get(value) == label, removed(text)


def test_a_consult_is_not_an_identifier() -> None:
    assert removed("ID consult 2016.05.15: seen.") == ["2016.05.15"]


@pytest.mark.parametrize(
    ("text", "worth"),
    [("Pneumonia", False), ("Bell's palsy", False), ("2024-03-05", False), ("E11.9", False),
     ("type two diabetes mellitus", False), ("Seen with her daughter Anna today.", True)],
)  # fmt: skip
def test_the_model_runs_only_where_a_name_can_be(text: str, worth: bool) -> None:
    assert ner.worth_modelling(text) is worth


@pytest.mark.parametrize(
    ("text", "released"),
    [("A 92‑year‑old woman.", "A 90+‑year‑old woman."),
     ("She is a 93 y.o. teacher.", "She is a 90+ y.o. teacher."),
     ("A 95-yr-old man.", "A 90+-yr-old man."),
     ("A 45-year-old man.", "A 45-year-old man.")],
)  # fmt: skip
def test_ages_over_89_in_other_spellings(text: str, released: str) -> None:
    assert scrub(text)[0] == released


def test_lab_codes_before_values_stay() -> None:
    text = "ALT 45, eGFR 38, Na 134, CRP 112 mg/L, Hb 12.1."
    assert scrub(text)[0] == text


def test_a_trust_is_an_institution() -> None:
    labels = {s.label for s in detect("Transferred to Leeds Teaching Hospitals NHS Trust today.")}
    assert labels == {"FACILITY"}
