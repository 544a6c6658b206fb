"""Builds the second development set (dev2): the weak classes of issue 11 in six styles.

    python tests/corpora/case-reports-dev2/build.py   # seeded; rewrites docs/ and labels/

Written without reading the frozen evaluation set's notes. Templates mark each span in
place: {kind} draws a value of that kind and labels it; plain text is not PHI.
"""

from __future__ import annotations

import json
import random
import re
import sys
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import pools as P
from styles import STYLES
from styles_b import STYLES_B
from styles_c import STYLES_C
from styles_d import STYLES_D

HERE = Path(__file__).parent
ONES = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


class Person:
    def __init__(self, rng: random.Random) -> None:
        self.given, self.family = rng.choice(P.GIVEN), rng.choice(P.FAMILY)


def age_text(rng: random.Random, age: int) -> str:
    word = (
        "ninety" + ("" if age == 90 else "-" + ONES[age - 91])
        if age < 100
        else ("one hundred" + ("" if age == 100 else " and " + ONES[age - 101]))
    )
    shapes = [
        f"{age}-year-old",
        f"{age} yo",
        f"{age}yo",
        f"{age} y/o",
        f"{age} y.o.",
        f"{word}-year-old",
        f"{word.capitalize()}-year-old",
        f"{age} years old",
        f"{age} yrs",
        f"{age}-yr-old",
        f"{word} years of age",
        f"{age} years of age",
        f"{age}‑year‑old",
        f"{age}F",
        f"{age} M",
        f"{age}M",
        f"{age}yr",
        f"{age}y",
    ]
    return rng.choice(shapes)


class Doc:
    """One document's values, drawn once so repeats agree."""

    def __init__(self, rng: random.Random, index: int) -> None:
        self.rng = rng
        self.patient = Person(rng)
        self.age = rng.choice([90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 104])
        self.clinicians = [Person(rng) for _ in range(4)]
        self.relatives = [Person(rng) for _ in range(2)]
        for rel in self.relatives:
            if rng.random() < 0.3:
                rel.family = self.patient.family  # shares the patient's surname
        self.institution = rng.choice(P.INSTITUTIONS)
        self.ward = rng.choice(P.WARDS)
        self.year = rng.choice(range(2016, 2026))
        self.month, self.day = rng.randint(1, 12), rng.randint(1, 28)
        self.mrn = f"{rng.randint(1000000, 9999999)}"
        self.phone = f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
        self.index = index

    def clinician(self, i: int) -> str:
        c, r = self.clinicians[i % 4], self.rng.random()
        if r < 0.25:
            return f"{c.given} {c.family}"
        if r < 0.4:
            return f"{c.given[0]}. {c.family}"
        if r < 0.55:
            return f"{c.family}, {c.given}"
        if r < 0.7:
            return f"{c.given} {c.family}".lower()
        if r < 0.8:
            return f"{c.family.upper()}, {c.given}"
        if r < 0.9:
            return c.family
        return f"{c.given.upper()} {c.family.upper()}"

    def value(self, kind: str) -> tuple[str, str | None]:
        rng, p = self.rng, self.patient
        months = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ]
        match kind:
            case "P":
                return rng.choice(
                    [
                        f"{p.given} {p.family}",
                        f"Mrs {p.family}",
                        f"Mr {p.family}",
                        p.given,
                        f"{p.family.upper()}, {p.given}",
                    ]
                ), "NAME_PATIENT"
            case "C0" | "C1" | "C2" | "C3":
                return self.clinician(int(kind[1])), "NAME_CLINICIAN"
            case "CF0" | "CF1" | "CF2" | "CF3":  # full name only (signature blocks)
                c = self.clinicians[int(kind[2])]
                return f"{c.given} {c.family}", "NAME_CLINICIAN"
            case "CL0" | "CL1" | "CL2" | "CL3":  # surname only ("Dr X")
                return self.clinicians[int(kind[2])].family, "NAME_CLINICIAN"
            case "R0" | "R1":
                r = self.relatives[int(kind[1])]
                full = f"{r.given} {r.family}"
                return rng.choice([r.given, full, full, r.given.lower()]), "NAME_RELATIVE"
            case "RG0" | "RG1":
                return self.relatives[int(kind[2])].given, "NAME_RELATIVE"
            case "REL":
                return rng.choice(P.RELATIONS), None
            case "A":
                return age_text(rng, self.age), "AGE_OVER_89"
            case "AN":  # the bare number or word ("she is 94", "aged ninety-three")
                word = age_text(rng, self.age).split("-")[0]
                word = word if word.startswith(("ninety", "Ninety")) else str(self.age)
                return rng.choice([str(self.age), str(self.age), word]), "AGE_OVER_89"
            case "AY":
                return f"{rng.randint(19, 88)}-year-old", "TRAP_AGE"
            case "I":
                return self.institution, "INSTITUTION"
            case "IC":
                return rng.choice(P.INSTITUTIONS_C), "INSTITUTION"
            case "AC":  # shapes of an age the other wordings do not use
                word = age_text(rng, self.age).split("-")[0]
                return rng.choice(
                    [
                        f"{self.age}yo F",
                        f"F {self.age}",
                        f"{self.age}-y-o",
                        f"{self.age} year-old",
                        f"{self.age}yo",
                        f"({self.age}y)",
                    ][:5]
                    + ([f"ninety {ONES[self.age - 91]} year old"] if 90 < self.age < 100 else [])
                ), "AGE_OVER_89"
            case "I2":
                return rng.choice(P.INSTITUTIONS), "INSTITUTION"
            case "W":
                return self.ward, "INSTITUTION"
            case "D":
                y, m, d = self.year, self.month, self.day
                return rng.choice(
                    [
                        f"{d:02d}/{m:02d}/{y}",
                        f"{months[m - 1]} {d}, {y}",
                        f"{d} {months[m - 1][:3]} {y}",
                        f"{y}-{m:02d}-{d:02d}",
                        f"{m}/{d}/{str(y)[2:]}",
                    ]
                ), "DATE"
            case "PH":
                return self.phone, "PHONE"
            case "MRN":
                return self.mrn, "MRN"
            case "EP":
                return rng.choice(P.EPONYMS), "TRAP_EPONYM"
            case "ORG":
                return rng.choice(P.ORGANISMS), "TRAP_ORGANISM"
            case "LAB":
                name, value = rng.choice(P.LABS)
                return f"{name} {value}", "TRAP_LAB"
            case "DRUG":
                return rng.choice(P.DRUGS), "TRAP_DRUG"
            case "VIT":
                return rng.choice(
                    ["SpO2 92%", "HR 96", "BP 148/92", "RR 22", "sats 91% on air", "temp 37.9"]
                ), "TRAP_VITAL"
            case "ROLE":
                return rng.choice(P.ROLES), None
            case "CRED":
                return rng.choice(P.CREDENTIALS), None
        raise KeyError(kind)


_SLOT = re.compile(r"\{([A-Z0-9]+)\}")


def render(doc: Doc, template: str) -> tuple[str, list[dict]]:
    """Text and spans of one template."""
    out, spans, cursor = "", [], 0
    for match in _SLOT.finditer(template):
        out += template[cursor : match.start()]
        text, cls = doc.value(match.group(1))
        if cls:
            # "of age" is no PHI (the scorer's neutral words lack "age"): label the number.
            shown = text.removesuffix(" years of age")
            spans.append(
                {"start": len(out), "end": len(out) + len(shown), "text": shown, "class": cls}
            )
        out += text
        cursor = match.end()
    return out + template[cursor:], spans


def _shift(spans: list[dict], by: int, pointer: str) -> list[dict]:
    return [
        {"pointer": pointer, **s, "start": s["start"] + by, "end": s["end"] + by, "where": "free"}
        for s in spans
    ]


def case_report(doc: Doc, style: str, text: str, spans: list[dict]) -> tuple[dict, list[dict]]:
    p = doc.patient
    birth = f"{doc.year - doc.age}-{doc.month:02d}-{doc.day:02d}"
    data = {
        "schema_version": 1,
        "report_id": f"D2-{doc.index:05d}",
        "patient": {
            "patient_id": doc.mrn,
            "name": f"{p.given} {p.family}",
            "birth_date": birth,
            "sex": "F",
            "medical_record_number": doc.mrn,
            "phone": doc.phone,
        },
        "encounter_date": f"{doc.year}-{doc.month:02d}-{doc.day:02d}",
        "facility": doc.institution,
        "physician": f"Dr. {doc.clinicians[0].given} {doc.clinicians[0].family}",
        "diagnoses": [{"code": "I48.91", "display": "Atrial fibrillation"}],
        "notes": text,
    }
    labels = [
        {
            "pointer": "/patient/name",
            "start": 0,
            "end": len(data["patient"]["name"]),
            "text": data["patient"]["name"],
            "class": "NAME_PATIENT",
            "where": "structured",
        },
        {
            "pointer": "/patient/birth_date",
            "start": 0,
            "end": 10,
            "text": birth,
            "class": "DATE",
            "where": "structured",
        },
        *_shift(spans, 0, "/notes"),
    ]
    return data, labels


def bundle(doc: Doc, style: str, parts: list[tuple[str, list[dict]]]) -> tuple[dict, list[dict]]:
    """A FHIR R4 Bundle: Patient, Encounter (narrative), Condition note, DiagnosticReport."""
    p, rng = doc.patient, doc.rng
    pid = str(uuid.UUID(int=rng.getrandbits(128)))
    birth = f"{doc.year - doc.age}-{doc.month:02d}-{doc.day:02d}"
    head = '<div xmlns="http://www.w3.org/1999/xhtml"><p>'
    narrative, n_spans = parts[0]
    entries: list[dict] = [
        {
            "resource": {
                "resourceType": "Patient",
                "id": pid,
                "identifier": [{"value": doc.mrn}],
                "name": [{"family": p.family, "given": [p.given]}],
                "gender": "female",
                "birthDate": birth,
            }
        },
        {
            "resource": {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "IMP",
                },
                "period": {"start": f"{doc.year}-{doc.month:02d}-{doc.day:02d}"},
                "serviceProvider": {"display": doc.institution},
                "text": {"status": "additional", "div": head + narrative + "</p></div>"},
            }
        },
    ]
    labels = [
        {
            "pointer": "/entry/0/resource/name/0/family",
            "start": 0,
            "end": len(p.family),
            "text": p.family,
            "class": "NAME_PATIENT",
            "where": "structured",
        },
        *_shift(n_spans, len(head), "/entry/1/resource/text/div"),
    ]
    if len(parts) > 1:
        note, spans = parts[1]
        entries.append(
            {
                "resource": {
                    "resourceType": "Condition",
                    "subject": {"reference": f"Patient/{pid}"},
                    "code": {
                        "coding": [
                            {
                                "system": "http://hl7.org/fhir/sid/icd-10",
                                "code": "I50.9",
                                "display": "Heart failure",
                            }
                        ]
                    },
                    "note": [{"text": note}],
                }
            }
        )
        labels += _shift(spans, 0, "/entry/2/resource/note/0/text")
    if len(parts) > 2:
        text, spans = parts[2]
        entries.append(
            {
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "status": "final",
                    "code": {
                        "coding": [
                            {
                                "system": "http://loinc.org",
                                "code": "11526-1",
                                "display": "Pathology study",
                            }
                        ]
                    },
                    "effectiveDateTime": f"{doc.year}-{doc.month:02d}-01",
                    "conclusion": text,
                }
            }
        )
        labels += _shift(spans, 0, f"/entry/{len(entries) - 1}/resource/conclusion")
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}", **e} for e in entries
        ],
    }, labels


def build(
    count: int = 180, extra: int = 90, third: int = 60, fourth: int = 50, seed: int = 20261207
) -> None:
    rng = random.Random(seed)
    for sub in ("docs", "labels"):
        (HERE / sub).mkdir(exist_ok=True)
        for old in (HERE / sub).glob("*.json"):
            old.unlink()
    stats: Counter[str] = Counter()
    for i in range(1, count + extra + third + fourth + 1):
        doc = Doc(rng, i)
        # the second wording from 181, the third from 271
        styles = (STYLES if i <= count else STYLES_B if i <= count + extra
                  else STYLES_C if i <= count + extra + third else STYLES_D)  # fmt: skip
        style = list(styles)[(i - 1) % len(styles)]
        sections = styles[style]
        chosen = [rng.choice(section) for section in sections]
        as_fhir = i % 3 == 0
        if as_fhir:
            parts = [render(doc, t) for t in chosen]
            # narrative, condition note, report conclusion: at most three fields
            joined = (
                [parts[0], *parts[1:3]]
                if len(parts) <= 3
                else [_join(parts[:-2]), parts[-2], parts[-1]]
            )
            for text, _ in joined:
                assert not re.search(r"[<>&]", text), text
            data, labels = bundle(doc, style, joined)
            media, fmt = "application/fhir+json", "fhir"
        else:
            text, spans = _join([render(doc, t) for t in chosen], "\n\n")
            data, labels = case_report(doc, style, text, spans)
            media, fmt = "application/json", "case_report"
        name = f"{i:04d}.json"
        (HERE / "docs" / name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        (HERE / "labels" / name).write_text(
            json.dumps(
                {
                    "document": f"docs/{name}",
                    "format": fmt,
                    "media_type": media,
                    "style": style,
                    "patient_age": doc.age,
                    "spans": labels,
                },
                indent=1,
                ensure_ascii=False,
            )
            + "\n"
        )
        _check(data, labels)
        stats.update(f"{s['where']}:{s['class']}" for s in labels)
        stats[f"style:{style}"] += 1
        stats[f"format:{fmt}"] += 1
    (HERE / "stats.json").write_text(json.dumps(dict(sorted(stats.items())), indent=1) + "\n")


def _join(parts: list[tuple[str, list[dict]]], sep: str = " ") -> tuple[str, list[dict]]:
    text, spans = "", []
    for chunk, chunk_spans in parts:
        if text:
            text += sep
        spans += [
            {**s, "start": s["start"] + len(text), "end": s["end"] + len(text)} for s in chunk_spans
        ]
        text += chunk
    return text, spans


def _check(data: dict, labels: list[dict]) -> None:
    for span in labels:
        value = data
        for key in span["pointer"].strip("/").split("/"):
            value = value[int(key)] if isinstance(value, list) else value[key]
        assert value[span["start"] : span["end"]] == span["text"], (span, value)


if __name__ == "__main__":
    build()
