"""Patterns and word lists behind the free-text PHI detector.

Regular expressions for the PHI that has a shape (dates, phone and fax numbers,
e-mail, URLs, IPs, SSNs, labelled and shaped IDs, street addresses, ZIP codes,
facility names, ages over 89) and the lexicons (first names, surnames, US places,
capitalised words that are not names) read from the package's data files.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from medshare_anonymizer.case_report.safe_harbor import US_STATES

MONTH_NAME = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
          r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")  # fmt: skip
_DAY = r"(?:[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
MONTH_NUMBER = r"(?:1[0-2]|0?[1-9])"
DAY_NUMBER = r"(?:[12][0-9]|3[01]|0?[1-9])"
_NOT_DIGIT_BEFORE = r"(?<![\d./-])"
_NOT_DIGIT_AFTER = r"(?![\d/-]|\.\d)"

DATE_PATTERNS = [
    re.compile(p)
    for p in (
        # 2024-03-05, 2024/3/5, with an optional time
        rf"{_NOT_DIGIT_BEFORE}{_YEAR}[-/]{MONTH_NUMBER}[-/]{DAY_NUMBER}"
        rf"(?:[T ]\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?{_NOT_DIGIT_AFTER}",
        # 03/05/2024, 3-5-24, 05.03.2024
        rf"{_NOT_DIGIT_BEFORE}{DAY_NUMBER}[/.-]{DAY_NUMBER}[/.-](?:{_YEAR}|\d{{2}}){_NOT_DIGIT_AFTER}",
        # 20240305
        r"(?<!\d)(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)",
        # March 5, 2024 / Mar 5th / March 5
        rf"\b{MONTH_NAME}\s+{_DAY}\b(?:,?\s+{_YEAR}\b)?",
        # 5 March 2024 / 5th of March
        rf"\b{_DAY}\s+(?:of\s+)?{MONTH_NAME}(?:,?\s+{_YEAR}\b)?",
        # March 2024, March of 2024
        rf"\b{MONTH_NAME},?\s+(?:of\s+)?{_YEAR}\b",
        # on 3/5, since 12/24, on 29/6 (day or month first; a leading preposition, since
        # 1/2 may be a ratio)
        rf"(?i:\b(?:on|since|from|until|till|through|dated|by|after|before|of)\s+)"
        rf"(?P<phi>{MONTH_NUMBER}/{DAY_NUMBER}|{DAY_NUMBER}/{MONTH_NUMBER})(?![\d/])(?!\s*(?:mg|mcg|ml|mmHg|units?|%)\b)",
        # a note's heading date: "Message 7/4:", "Tel enc 16/2:" (scores are not headings)
        rf"(?im:^[ \t]*(?!(?:pain|score|gcs|power|strength|ratio|bp|va)\b)[A-Za-z/.]+"
        rf"(?:[ \t]+[A-Za-z/.]+){{0,2}}[ \t]+)(?P<phi>{DAY_NUMBER}/{MONTH_NUMBER})(?=:)",
        # mid-March, early May, late Dec
        r"(?i:\b(?:early|mid|late)[- ])" + MONTH_NAME,
        # holidays as dates
        r"\b(?:Christmas(?: Eve| Day)?|Thanksgiving|New Year's(?: Eve| Day)?|Easter|"
        r"Halloween|Independence Day|Labor Day|Memorial Day|Veterans Day|Valentine's Day)\b",
    )
]
# A full month name alone ("in March") is still a date element; "May" needs context.
MONTH_ALONE = re.compile(
    r"\b(?:January|February|March|April|June|July|August|September|October|November|December)\b"
    r"|(?i:(?<=\bin )|(?<=\bof )|(?<=\bsince )|(?<=\bduring )|(?<=\buntil ))May\b"
)

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)]"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|health|info|us)(?:/[^\s<>\"]*)?\b"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = re.compile(rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\d|\.\d)")
_HEX = r"[0-9A-Fa-f]{1,4}"
IPV6 = re.compile(  # full form, or compressed with "::"
    rf"(?<![0-9A-Fa-f:])(?:(?:{_HEX}:){{7}}{_HEX}|(?:{_HEX}:){{1,6}}(?::{_HEX}){{1,6}}|::{_HEX}(?::{_HEX}){{0,6}})"
    r"(?![0-9A-Fa-f:])"
)
SSN = re.compile(
    r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])|(?<!\d)\d{3} \d{2} \d{4}(?!\d)"
    r"|(?i:\b(?:SSN|SS#|social security(?: number| no\.?)?)\s*[:#]?\s*)(?P<phi>\d{9})\b"
)
PHONE = re.compile(
    r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
    r"(?:\s?(?:x|ext\.?|extension)\s?\d{1,5})?(?!\d)"
    r"|(?i:\b(?:phone|tel|cell|mobile|pager|fax|call|ext)\b\.?:?\s*(?:#|number|at)?\s*)"
    r"(?P<phi>\d{3}[\s.-]\d{4})(?!\d)"
)
FAX_CUE = re.compile(r"(?i)\bfax\b|\bfacsimile\b")

_ID_LABEL = "|".join(
    (
        r"MRN",
        r"MR#",
        r"MR no\.?",
        r"medical record(?: number| no\.?| #)?",
        r"chart(?: number| no\.?| #)?",
        r"acct",
        r"account(?: number| no\.?| #)?",
        r"member(?: ID| number| no\.?)?",
        r"policy(?: number| no\.?| #)?",
        r"plan(?: ID| number)",
        r"subscriber(?: ID| number)?",
        r"insurance(?: ID| number)?",
        r"group(?: number| no\.?)",
        r"beneficiary(?: ID| number)?",
        r"license(?: number| no\.?| #)?",
        r"lic\.?(?: no\.?| #)?",
        r"driver'?s license(?: number| no\.?)?",
        r"DL",
        r"certificate(?: number| no\.?)?",
        r"NPI",
        r"DEA(?: number| no\.?)?",
        r"serial(?: number| no\.?| #)?",
        r"S/N",
        r"device(?: ID| serial| number)?",
        r"implant(?: ID| serial)?",
        r"pacemaker serial",
        r"VIN",
        r"vehicle(?: ID| identification number)?",
        r"(?:license )?plate(?: number| no\.?)?",
        r"tag(?: number)?",
        r"badge(?: number)?",
        r"employee(?: ID| number)?",
        r"patient ID",
        r"ID(?: number| no\.?)?",
        r"identifier",
        r"case(?: number| no\.?| #)",
        r"accession(?: number| no\.?| #)?",
        r"specimen(?: ID| number| no\.?)",
        r"claim(?: number| no\.?)?",
        r"encounter(?: ID| number)",
        r"visit(?: ID| number)",
        r"record(?: number| no\.?)",
        r"reference(?: number| no\.?)",
        r"passport(?: number| no\.?)?",
        r"confirmation(?: number| no\.?)",
    )
)
LABELLED_ID = re.compile(
    rf"(?i:\b(?:{_ID_LABEL}))\s*(?:[:#=]|is|was)?\s*#?\s*"
    r"(?P<phi>(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9/.-]{2,}[A-Za-z0-9])"
)
SHAPED_ID = re.compile(
    r"(?<![\w.-])(?:"
    r"[A-Z]{1,5}[-#]?\d{4,}(?:-\d+)*"  # MRN-4471923, A12345678, ACC-2024-1181
    r"|\d{2,}[A-Z]{1,4}\d{2,}[A-Z0-9]*"  # 12AB3456
    r"|\d[A-Z]{3}\d{3}"  # 7ABC123 (license plate)
    r"|[A-HJ-NPR-Z0-9]{17}"  # VIN
    r"|\d{6,}"  # long bare numbers
    r"|\d{3,}-\d{3,}(?:-\d+)*"  # 123-45678
    r")(?![\w-])"
)

_STREET_SUFFIX = (
    r"Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Place|Pl|"
    r"Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Trail|Trl|Square|Sq|Loop|Row|Path|Pike|"
    r"Alley|Crescent|Close|Run|Ridge|Hollow|Heights"
)
STREET = re.compile(
    r"\b\d{1,6}[A-Z]?\s+(?:[NSEW]\.?\s+|North\s+|South\s+|East\s+|West\s+)?"
    r"(?:(?:[A-Z][a-zA-Z'-]*|\d+(?:st|nd|rd|th))\.?\s+){1,4}"
    rf"(?:{_STREET_SUFFIX})\b\.?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Bldg|Building|Floor|Fl|#)\.?\s*#?\s*[A-Za-z0-9-]+)?"
    r"|\b(?i:P\.?\s?O\.?\s+Box|Post Office Box)\s+\d+"
)
_STATE_ALTERNATION = "|".join(sorted([*US_STATES, *US_STATES.values()], key=len, reverse=True))
CITY_STATE = re.compile(
    r"\b([A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2}),\s+"
    rf"({_STATE_ALTERNATION})\b(?:\s+(\d{{5}}(?:-\d{{4}})?))?"
)
ZIP = re.compile(
    rf"(?:\b(?:{_STATE_ALTERNATION})\s+|(?i:\bzip(?: code)?:?\s*))"
    r"(?P<phi>\d{5}(?:-\d{4})?)(?!\d)"
    r"|(?<![\d-])\d{5}-\d{4}(?![\d-])"
)
COUNTY = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)? (?:County|Parish|Borough)\b")

_FACILITY_SUFFIX = (
    r"(?:General |Memorial |Community |Children's |University |Regional |Veterans |County )?"
    r"(?:Hospital|Medical Center|Medical Centre|Health Center|Health System|Healthcare|"
    r"Clinic|Infirmary|Hospice|Nursing Home|Nursing Center|Rehabilitation Center|Rehab Center|"
    r"Cancer Center|Cancer Institute|Surgical Center|Surgery Center|Urgent Care|Medical Group|"
    r"Family Practice|Family Medicine|Imaging Center|Women's Center|Breast Center|Health Clinic|"
    r"Health Centre|Hospitals|NHS Trust|NHS Foundation Trust|Health System|Polyclinic|"
    r"Medical College|Children's Hospital|"
    # wards, GP surgeries and other places of care named by a word ("Heron Ward")
    r"Ward|Unit|Surgery|Walk-in Centre|Walk-in Clinic|Pharmacy|Fertility|Lodge|Care Home|"
    r"Assisted Living|Rehab|Pediatrics|Paediatrics|Oncology|Associates|Medical Practice|"
    r"Family Health|Dialysis Centre|Dialysis Center|Institute|General|Residential Care|"
    r"Residential Home|Care Centre|Care Center|SNF|Skilled Nursing(?: Facility)?|Manor|"
    r"Centre|Center)"
)
# Hospitals named in other languages, the kind of place first ("Klinikum rechts der Isar").
FOREIGN_FACILITY = re.compile(
    r"\b(?:Klinikum|Krankenhaus|Universitätsklinikum|Hôpital|Hopital|Clinique|Ospedale|"
    r"Policlinico|Hospital|Centro Hospitalar|Sjukhus|Ziekenhuis)"
    r"(?: (?:[A-ZÀ-Ý][\w'-]+|de|du|des|la|le|di|del|der|rechts|links|am|an|van|of)){1,4}"
    r"(?<!\bof)(?<!\bde)(?<!\bdu)(?<!\bla)(?<!\ble)(?<!\bdi)(?<!\bder)(?<!\ban)"
)
FACILITY = re.compile(
    r"\b(?:(?:St\.?|Saint|Mount|Mt\.?) )?"
    r"(?:[A-Z][a-zA-Z'&.-]+ (?:(?:of|and|the|&) )?){1,5}"
    rf"{_FACILITY_SUFFIX}\b"
    r"(?: (?:of|at) (?:[A-Z][a-zA-Z'-]+ ?){1,3})?"
    r"|\bUniversity of (?:[A-Z][a-zA-Z'-]+ ){1,3}(?:Hospital|Medical Center|Health)\b"
)
AGE_OVER_89 = re.compile(
    r"\b(?:9\d|1[0-1]\d)(?=(?:\s|-)?(?:years?|yrs?|y/?o|yo)\b)"
    r"|(?i:\b(?:aged?|age of|age/sex|age/gender)\s*[:=]?\s*)(?P<phi>9\d|1[0-1]\d)(?!\d|\.\d)"
    r"|\b(?:9\d|1[0-1]\d)(?=\s+(?:year|yr)s?\s+of\s+age\b)"
)


def lexicon_lines(name: str) -> list[str]:
    """The entries of one word list in `lexicons/` (comments and blank lines left out)."""
    text = (
        resources.files("medshare_anonymizer.case_report")
        .joinpath("lexicons", name)
        .read_text("utf-8")
    )
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


@cache
def first_names() -> frozenset[str]:
    return frozenset(name.lower() for name in lexicon_lines("first_names.txt"))


@cache
def last_names() -> frozenset[str]:
    return frozenset(name.lower() for name in lexicon_lines("last_names.txt"))


@cache
def common_words() -> frozenset[str]:
    return frozenset(
        word.lower() for line in lexicon_lines("common_words.txt") for word in line.split()
    )


@cache
def english_words() -> frozenset[str]:
    """Lowercase English words (SCOWL): a capitalised one is usually a sentence start."""
    return frozenset(lexicon_lines("english_words.txt"))


@cache
def city_pattern() -> re.Pattern[str]:
    cities = {city for city in lexicon_lines("us_cities.txt") if city.lower() not in common_words()}
    alternation = "|".join(re.escape(c) for c in sorted(cities, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternation})\b")
