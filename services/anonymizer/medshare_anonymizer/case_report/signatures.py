"""Names found by what a letter or a note puts beside them: a role, a sign-off, a role line.

Clinicians sign as "Ama Adeyemi\\nConsultant Radiologist" or after "Yours sincerely,";
team lists and family notes give the role in brackets: "YAW MENSAH (registrar)",
"Ember (son-in-law) rang". The names themselves may be English words or lowercase, so
the evidence here is the layout, not the word. Each function yields (start, end).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from medshare_anonymizer.case_report import patterns as p
from medshare_anonymizer.case_report.names import NAME_WORD, ROLE_WORDS, words
from medshare_anonymizer.case_report.ner import EPONYM_HEADS, clinical_words

Span = tuple[int, int]

_ROLE = (
    r"registrar|consultant|attending|fellow|resident|intern|sho|spr|fy1|fy2|ct\d|st\d|"
    r"house officer|(?:staff |charge |student |specialist |district |practice )?nurse|rn|np|"
    r"pa|hca|physio(?:therapist)?|ot|salt|dietitian|pharmacist|midwife|matron|sister|"
    r"(?:pathology |physician |clinical )?assistant|social worker|interpreter|chaplain|"
    r"gp|locum|surgeon|anaesthetist|anesthetist|radiographer|sonographer|scientist|"
    r"pathologist|radiologist|coordinator|keyworker|key worker|manager|nok|next of kin|hcp|"
    r"hcpoa|poa|lpa|guardian|carer|caregiver|mother|father|mum|mom|dad|son|daughter|wife|"
    r"husband|partner|spouse|brother|sister|niece|nephew|aunt|uncle|cousin|grandson|"
    r"granddaughter|grandmother|grandfather|friend|neighbou?r|son-in-law|daughter-in-law|"
    r"stepson|stepdaughter|stepmother|stepfather|brother-in-law|sister-in-law|fianc[ée]e?"
)
# A word of a name in any case, or an initial; "de la" and other particles between.
_ANY_WORD = r"(?<![\w'’./-])(?:[^\W\d_]\.(?!\w)|[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*)"
_PARTICLES = r"(?:van|von|der|den|de|del|la|le|da|di|du|dos|al|el|bin|te)"
# One to three words before "(role)", a surname-comma-given pair included.
_BEFORE_ROLE = re.compile(
    rf"(?P<phi>{_ANY_WORD}(?:,?[ \t]+(?:{_PARTICLES}[ \t]+)*{_ANY_WORD}){{0,2}})"
    rf"[ \t]*\((?:[\w/-]+[ \t]+){{0,3}}(?i:{_ROLE})(?:,[^)]*)?\)"
)
_SIGN_OFF = re.compile(
    r"(?im)^[ \t]*(?:yours (?:sincerely|faithfully|truly)|kind(?:est)? regards|best regards|"
    r"(?:with )?(?:best|many) (?:wishes|thanks)|regards|sincerely|thanks|thank you)[,.]?[ \t]*\n"
    r"(?:[ \t]*\n)*[ \t]*(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?[ \t]+)?"
    # a name of one to four words, never a line with a time or a number in it
    rf"(?P<phi>{_ANY_WORD}(?:[ \t]+{_ANY_WORD}){{0,3}})[ \t]*(?:,|\n|$)"
)
# A line of two or three capitalised words over a line naming a role or a credential.
_ROLE_LINE = re.compile(
    r"(?m)^[ \t]*(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?[ \t]+)?"
    rf"(?P<phi>{NAME_WORD}(?:[ \t]+{NAME_WORD}){{1,2}})"
    r"(?:,[ \t]*[A-Z][A-Za-z ]{1,20})?[ \t]*\n[ \t]*(?:[A-Z][\w'-]*[ \t]+){0,3}"
    r"(?i:consultant|registrar|radiologist|histopathologist|pathologist|physician|nurse|"
    r"practitioner|partner|coordinator|hospitalist|surgeon|fellow|resident|therapist|"
    r"geriatrician|cardiologist|oncologist|psychiatrist|midwife|pharmacist|social worker|GP)\b"
)


def _trim(text: str, start: int, end: int) -> Span | None:
    """The words after the last that is no name ("history from Domas" -> "Domas")."""
    found = list(re.finditer(r"\S+", text[start:end]))
    common = p.common_words()
    for index in range(len(found) - 1, -1, -1):
        word = _plain(found[index].group())
        if word in _STOP or (word in common and word not in _names_lexicon()):
            found = found[index + 1 :]
            break
    if not found:
        return None
    return start + found[0].start(), end


def _plain(word: str) -> str:
    return word.strip(",.:;()").lower()


_STOP = ROLE_WORDS | words(
    "and or with by the a an his her their our my your seen reviewed discussed spoke to from "
    "for of in on at plan called rang visited dr mr mrs ms prof call ring phone contact "
    "update inform tell ask see meet visit speak told saw met asked informed updated"
)


_RELATIONS = (
    r"mother|father|mum|mom|dad|son|daughter|wife|husband|partner|spouse|brother|sister|niece|"
    r"nephew|aunt|uncle|cousin|grandson|granddaughter|grandmother|grandfather|friend|"
    r"neighbou?r|son-in-law|daughter-in-law|stepson|stepdaughter|carer|next of kin|nok"
)
# "ifeoma - cousin and next of kin", "Ifeoma, her niece, is the main carer"
_BEFORE_RELATION = re.compile(
    rf"(?P<phi>{_ANY_WORD}(?:[ \t]+{_ANY_WORD}){{0,2}})[ \t]*[-–—,][ \t]*"
    rf"(?:(?:her|his|their|the patient's|pt's)[ \t]+)?(?i:{_RELATIONS})\b"
)
# A label that lists people: "Present: WATANABE, Ayodele, VOLKOV, Aarav", "cc: Dr Hill; Kwame"
_LIST = re.compile(
    r"(?im)^[ \t]*(?:cc\b\.?|c\.c\.|(?:present|attendees|in attendance|attending|team|care team|"
    r"cc|c\.c\.?|copy|"
    r"copies|copy to|copies to|distribution|chair|panel|signed|authors?)[ \t]*:)[ \t]*"
    r"(?P<rest>[^\n]+)"
)
_ITEM = re.compile(r"[^,;/&]+")


def listed(text: str) -> Iterator[Span]:
    """Each item of a list of people after its label, one to three words without digits."""
    for match in _LIST.finditer(text):
        for item in _ITEM.finditer(text, *match.span("rest")):
            for part in re.finditer(r"[^ \t]+(?:[ \t]+[^ \t]+)*", item.group()):
                words = part.group().split()
                if not 1 <= len(words) <= 4 or any(c.isdigit() for c in part.group()):
                    continue
                start = item.start() + part.start()
                span = _trim(text, start, start + len(part.group()))
                if span is not None and re.fullmatch(
                    rf"{_ANY_WORD}(?:[ \t]+{_ANY_WORD}){{0,3}}", text[span[0] : span[1]]
                ):
                    yield span


# Names in capitals inside text in mixed case: "Actions: SVETLANA MERRIWEATHER to call"
_CAPITAL_RUN = re.compile(
    r"(?<![\w'’-])[^\W\d_a-z]{2,}(?:[-'’][^\W\d_a-z]+)*"
    r"(?:,?[ \t]+[^\W\d_a-z]{2,}(?:[-'’][^\W\d_a-z]+)*){1,2}(?![\w'’-])"
)


_LOWER = re.compile(r"[^\W\d_A-Z]")  # lowercase, roughly: letters that are not ASCII capitals
_UPPER = re.compile(r"[A-Z]")


def capitals(text: str) -> Iterator[Span]:
    """Runs of two or three words in capitals, one of them no English or clinical word."""
    if not _CAPITAL_RUN.search(text):
        return
    lower = len(_LOWER.findall(text))
    if lower < len(_UPPER.findall(text)):
        return  # a note in capitals: capitals say nothing
    plain, english = _plain_words(), p.english_words()
    for match in _CAPITAL_RUN.finditer(text):
        words = [w.strip(",").lower() for w in match.group().split()]
        if any(w in plain or w in _STOP or w in _FIELD_LABELS for w in words):
            continue  # "DISCHARGE SUMMARY", "CT HEAD": headings
        if any((w not in english and len(w) > 2) or w in _names_lexicon() for w in words):
            yield match.span()


_FIELD_LABELS = words("dob mrn nhs ssn id dod doa acc ref tel fax mbi dl")


@cache
def _plain_words() -> frozenset[str]:
    return (p.common_words() | clinical_words()) - _names_lexicon()


@cache
def _names_lexicon() -> frozenset[str]:
    return p.first_names() | p.last_names()


# A service and the person who spoke for it: "Microbiology (rowan wren) advised"
_SERVICE_PERSON = re.compile(
    r"\b(?:[A-Z][a-z]+(?:ology|ics|ery|iatry)|Micro|Physio|Haem|Onc|Gastro|Cardio|Neuro|Resp|"
    r"Renal|Surgical|Medical|Ortho|Stroke|ICU|ID)[ \t]*"
    rf"\((?P<phi>{_ANY_WORD}(?:[ \t]+{_ANY_WORD}){{0,2}})\)"
)


# "YAW STONE and I saw the patient together"
_AND_I = re.compile(rf"(?P<phi>{_ANY_WORD}(?:,?[ \t]+{_ANY_WORD}){{0,2}})[ \t]+and I\b")


def before_role(text: str) -> Iterator[Span]:
    for pattern in (_BEFORE_ROLE, _BEFORE_RELATION, _AND_I):
        yield from _before(text, pattern)
    plain = _plain_words()
    for match in _SERVICE_PERSON.finditer(text):
        words = [_plain(w) for w in match.group("phi").split()]
        if re.fullmatch(r"[A-Z0-9]{1,4}", match.group("phi")):
            continue  # "Cardiology (AF)"
        if not any(w in plain or w in _STOP for w in words):
            yield match.span("phi")


def _before(text: str, pattern: re.Pattern[str]) -> Iterator[Span]:
    for match in pattern.finditer(text):
        span = _trim(text, *match.span("phi"))
        # "MI (mother)", "CVA (father)": a short capital abbreviation is a diagnosis
        # and "Parkinson's disease (father)" a family history
        if span is None or re.fullmatch(r"[A-Z0-9]{1,4}", text[span[0] : span[1]]):
            continue
        if _plain(text[span[0] : span[1]].split()[-1]) not in EPONYM_HEADS:
            yield span


def signed(text: str) -> Iterator[Span]:
    """The name under a sign-off, and a name line over a role line."""
    for pattern in (_SIGN_OFF, _ROLE_LINE):
        for match in pattern.finditer(text):
            start, end = match.span("phi")
            if any(c.isalpha() for c in text[start:end]):
                yield start, end
