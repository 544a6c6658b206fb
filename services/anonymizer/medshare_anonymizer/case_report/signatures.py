"""Names found by what a letter or a note puts beside them: a role, a sign-off, a role line.

Clinicians sign as "Ama Adeyemi\\nConsultant Radiologist" or after "Yours sincerely,";
team lists and family notes give the role in brackets: "YAW MENSAH (registrar)",
"Ember (son-in-law) rang". The names themselves may be English words or lowercase, so
the evidence here is the layout, not the word. Each function yields (start, end).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from medshare_anonymizer.case_report.names import NAME_WORD, ROLE_WORDS
from medshare_anonymizer.case_report.ner import EPONYM_HEADS

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
_ANY_WORD = r"(?<![\w'’.-])(?:[^\W\d_]\.(?!\w)|[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*)"
_PARTICLES = r"(?:van|von|der|den|de|del|la|le|da|di|du|dos|al|el|bin|te)"
# One to three words before "(role)", a surname-comma-given pair included.
_BEFORE_ROLE = re.compile(
    rf"(?P<phi>{_ANY_WORD}(?:,?[ \t]+(?:{_PARTICLES}[ \t]+)*{_ANY_WORD}){{0,2}})"
    rf"[ \t]*\((?:[\w/-]+[ \t]+){{0,3}}(?i:{_ROLE})(?:,[^)]*)?\)"
)
_SIGN_OFF = re.compile(
    r"(?im)^[ \t]*(?:yours (?:sincerely|faithfully|truly)|kind(?:est)? regards|best regards|"
    r"(?:with )?(?:best|many) (?:wishes|thanks)|regards|sincerely|thanks|thank you)[,.]?[ \t]*\n"
    r"(?:[ \t]*\n)*[ \t]*(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?[ \t]+)?(?P<phi>[^\n,]{2,60}?)[ \t]*(?:,|\n|$)"
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
    """The name without the words before it that are not names ("and", "Team", "seen")."""
    found = list(re.finditer(r"\S+", text[start:end]))
    while found and _plain(found[0].group()) in _STOP:
        found.pop(0)
    if not found:
        return None
    return start + found[0].start(), end


def _plain(word: str) -> str:
    return word.strip(",.:;()").lower()


_STOP = ROLE_WORDS | frozenset(
    [
        "and",
        "or",
        "with",
        "by",
        "the",
        "a",
        "an",
        "his",
        "her",
        "their",
        "our",
        "my",
        "your",
        "seen",
        "reviewed",
        "discussed",
        "spoke",
        "to",
        "from",
        "for",
        "of",
        "in",
        "on",
        "at",
        "plan",
        "called",
        "rang",
        "visited",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
    ]
)


def before_role(text: str) -> Iterator[Span]:
    for match in _BEFORE_ROLE.finditer(text):
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
