# ruff: noqa: E501  (template and data tables read best one entry a line)
"""Builds the labelled case-report corpora (eval: frozen, dev: for tuning, fhir-realistic).

Run from a throwaway environment with Faker (the files in eval/ ARE the frozen set; this
script documents how they were made and rebuilds dev/):

    python -m venv /tmp/corpus && /tmp/corpus/bin/pip install faker==40.63.0
    /tmp/corpus/bin/python tests/corpora/case-reports/build.py [--only dev]

See README.md beside it for the label format.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import random
import re
import string
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from faker import Faker

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import pools  # noqa: E402
from styles import SENTENCES, STYLES  # noqa: E402

FREE, STRUCTURED = "free", "structured"
XHTML = "http://www.w3.org/1999/xhtml"
ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TENS_WORDS = {90: "ninety", 100: "one hundred"}
_MARK = re.compile(r"(\[\[[A-Z_0-9]+:[a-z_0-9]+\]\]|\{\{[A-Z_]+[:=][^}]+\}\})")
PRESIDIO = {  # presidio-evaluator placeholder -> (class, context key)
    "person": ("NAME_PATIENT", "name"), "name": ("NAME_PATIENT", "name"),
    "name_female": ("NAME_PATIENT", "name"), "name_male": ("NAME_PATIENT", "name"),
    "first_name": ("NAME_PATIENT", "first"), "first_name_male": ("NAME_PATIENT", "first"),
    "first_name_female": ("NAME_PATIENT", "first"), "first_name_nonbinary": ("NAME_PATIENT", "first"),
    "last_name": ("NAME_PATIENT", "last"), "last_name_male": ("NAME_PATIENT", "last"),
    "last_name_female": ("NAME_PATIENT", "last"), "address": ("ADDRESS", "street_full"),
    "street_name": ("ADDRESS", "street_name"), "building_number": ("ADDRESS", "building"),
    "secondary_address": ("ADDRESS", "apt"), "city": ("CITY", "city"), "postcode": ("ZIP", "postcode"),
    "zipcode": ("ZIP", "zip"), "phone_number": ("PHONE", "phone"), "email": ("EMAIL", "email"),
    "url": ("URL", "url"), "ip_address": ("IP", "ip"), "date_of_birth": ("DATE", "dob"),
    "date_time": ("DATE", "date"), "ssn": ("SSN", "ssn"), "age": ("AGE", "age_bare"),
    "credit_card_number": ("ACCOUNT", "card"), "iban": ("ACCOUNT", "iban"),
    "us_driver_license": ("LICENSE", "dl"),
}  # fmt: skip


def number_words(n: int) -> str:
    if n >= 100:
        rest = n - 100
        return "one hundred" + (f" and {ONES[rest]}" if rest else "")
    return "ninety" + (f"-{ONES[n - 90]}" if n > 90 else "")


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def render_date(d: date, rng: random.Random, short: bool = False) -> str:
    full = [
        lambda: f"{d.day}-{d:%b}-{d.year}", lambda: f"{d:%d-%b-%Y}", lambda: f"{d:%m/%d/%Y}",
        lambda: f"{d.month}/{d.day}/{d:%y}", lambda: d.isoformat(), lambda: f"{d:%B} {d.day}, {d.year}",
        lambda: f"{d.day} {d:%B} {d.year}", lambda: f"{d:%Y.%m.%d}", lambda: f"{d:%d.%m.%Y}",
        lambda: f"{d:%d%b%Y}".upper(), lambda: f"{d.day}/{d.month}/{d.year}", lambda: f"{d:%Y%m%d}",
        lambda: f"{d:%A} {ordinal(d.day)} {d:%B} {d.year}", lambda: f"{d:%b}. {d.day} {d.year}",
    ]  # fmt: skip
    partial = [
        lambda: f"{d:%d-%b}".upper(), lambda: f"the {ordinal(d.day)}", lambda: f"{d:%b} '{d:%y}",
        lambda: f"{d:%B} {d.year}", lambda: f"{d:%b} {d.day}", lambda: f"{ordinal(d.day)} of {d:%B}",
        lambda: f"{d.day}/{d.month}", lambda: f"{d:%a} {d.day}/{d.month}",
    ]  # fmt: skip
    return rng.choice(partial if short else full)()


class Person:
    def __init__(self, rng: random.Random, fakers: dict[str, Faker], part: str, family: str = ""):
        locale = rng.choice(pools.LOCALES)
        fake = fakers[locale]
        self.female = rng.random() < 0.55
        given = fake.first_name_female() if self.female else fake.first_name_male()
        fam = fake.last_name()
        roll = rng.random()
        if roll < 0.18:
            given = rng.choice(pools.half(pools.WORD_GIVEN, part))
        elif roll < 0.30:
            given = rng.choice(pools.half(pools.HARD_GIVEN, part))
        roll = rng.random()
        if roll < 0.18:
            fam = rng.choice(pools.half(pools.WORD_FAMILY, part))
        elif roll < 0.36:
            fam = rng.choice(pools.half(pools.HARD_FAMILY, part))
        self.given, self.family = given.replace("&", "and"), family or fam
        self.middle = rng.choice(string.ascii_uppercase)

    def render(self, how: str, rng: random.Random) -> str:
        g, f = self.given, self.family
        forms = {
            "full": f"{g} {f}", "last_first": f"{f.upper()}, {g}", "formal": f"{'Ms' if self.female else 'Mr'}{rng.choice(['.', ''])} {f}",
            "lower": f"{g} {f}".lower(), "upper": f"{g} {f}".upper(), "initial_last": f"{g[0]}. {f}",
            "initials": f"{g[0]}. {self.middle}.", "first": g, "last": f, "first_lower": g.lower(),
            "middle": f"{g} {self.middle}. {f}",
        }  # fmt: skip
        return forms[how]


class Context:
    """One document's identities and how each is written."""

    def __init__(self, rng: random.Random, fakers: dict[str, Faker], part: str):
        self.rng, self.part = rng, part
        self.us, self.ca = fakers["en_US"], fakers["en_CA"]
        self.patient = Person(rng, fakers, part)
        self.rel_same = Person(rng, fakers, part, family=self.patient.family)
        self.rel_other = Person(rng, fakers, part)
        self.clinicians = [Person(rng, fakers, part) for _ in range(3)]
        self.enc = date(2015, 1, 1) + timedelta(days=rng.randrange(3900))
        self.age = rng.randrange(90, 105) if rng.random() < 0.35 else rng.randrange(19, 89)
        self.dob = self.enc - timedelta(days=365 * self.age + rng.randrange(1, 360))
        self.insts = rng.sample(pools.half(pools.INSTITUTIONS, part), 2)
        self.mrn = rng.choice([f"{rng.randrange(10**7, 10**8)}", f"MR{rng.randrange(10**5, 10**6)}", f"{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}-{rng.randrange(10)}"])  # fmt: skip
        self.phone_us = self.us.numerify("(###) ###-####").replace("(0", "(6").replace("(1", "(4")
        self.email = f"{_ascii(self.patient.given)}.{_ascii(self.patient.family)}{rng.randrange(10, 99)}@{rng.choice(['gmail.com', 'yahoo.co.uk', 'outlook.com', 'wp.pl', 'seznam.cz', 'gmx.de'])}".lower()  # fmt: skip
        self.ssn = self.us.ssn()
        self.street = self.us.street_address() if rng.random() < 0.6 else fakers[rng.choice(["en_GB", "en_CA", "en_AU"])].street_address()  # fmt: skip
        self.street = self.street.replace("\n", ", ")
        self.city = rng.choice([self.us.city(), fakers["en_GB"].city(), fakers["en_CA"].city(), fakers["pl_PL"].city()])  # fmt: skip
        self.zip = rng.choice([self.us.zipcode(), self.us.zipcode_plus4()])

    def ids(self, key: str) -> str:
        r, u = self.rng, self.us
        table = {
            "case_no": lambda: r.choice([u.bothify("S##-#####"), u.bothify("SP-##-####"), u.bothify("?##-####").upper()]),
            "accession": lambda: r.choice([u.bothify("RAD-##-#######"), u.bothify("A########"), u.bothify("CT########")]),
            "mbi": lambda: f"{r.randrange(1, 10)}{u.bothify('??#-??#-??##').upper()}".replace("S", "T").replace("O", "P"),
            "hplan": lambda: r.choice([u.bothify("XJH#########"), u.bothify("ZGP ### ### ###"), u.bothify("W#########-01")]),
            "acct": lambda: r.choice([u.numerify("##########"), u.numerify("##-######"), u.bothify("ACC-#######")]),
            "dl": lambda: r.choice([u.bothify("S###-###-##-###-#"), u.bothify("?#######").upper(), u.numerify("### ### ###")]),
            "dea": lambda: u.bothify("A?#######").upper(),
            "tow": lambda: r.choice([u.bothify("T-######"), u.numerify("TT######"), u.numerify("#######")]),
            "plate": lambda: r.choice([u.bothify("??## ???").upper(), u.bothify("#???###").upper(), u.bothify("###-???").upper()]),
            "vin": lambda: u.bothify("1HGCM8####A######").upper(),
            "police": lambda: u.bothify("PR-####-#####"),
            "serial": lambda: r.choice([u.bothify("PJN######H"), u.numerify("########"), u.bothify("SN-??-#####").upper()]),
            "unit_no": lambda: r.choice([u.bothify("RJ1 ### ###K"), u.numerify("###-###")]),
            "ssn4": lambda: self.ssn[-4:],
            "card": lambda: u.credit_card_number(),
            "iban": lambda: u.iban(),
        }  # fmt: skip
        return table[key]()

    def get(self, key: str) -> str:
        r, p = self.rng, self.patient
        if key.startswith("name") or key in ("first", "last", "first_lower"):
            how = {"name": r.choice(["full", "full", "middle", "full"]), "name_last_first": "last_first", "name_formal": "formal",
                   "name_lower": "lower", "name_upper": "upper", "name_initial_last": "initial_last",
                   "name_initials": "initials"}.get(key, key)  # fmt: skip
            return p.render(how, r)
        if key.startswith("rel_"):
            who = self.rel_other if key == "rel_other" else self.rel_same
            how = {"rel_same": "full", "rel_other": "full", "rel_first": "first", "rel_first_lower": "first_lower",
                   "rel_initials": "initials", "rel_last": "last"}[key]  # fmt: skip
            return who.render(how, r)
        if key.startswith("clin"):
            c = self.clinicians[
                {"clin_b": 1, "clin_c": 2}.get(key, 0 if key != "clin" else r.randrange(3))
            ]
            if key == "clin_lower":
                return c.render("lower", r)
            if key == "clin_initials":
                return (
                    f"{c.given[0]}. {c.middle}. {c.family}"
                    if r.random() < 0.5
                    else f"{c.given[0]}{c.middle}"
                )
            if key in ("clin_last", "clin_first_only"):
                return c.family if key == "clin_last" else c.given
            return r.choice([f"Dr. {c.given} {c.family}", f"Dr {c.family}", f"{c.family}, {c.given} MD", f"{c.given} {c.family}", f"{c.given[0]}. {c.family}"])  # fmt: skip
        return self._value(key)

    def _value(self, key: str) -> str:
        r, u = self.rng, self.us
        if key in ("dob", "enc", "date", "date_short", "month_year"):
            base = {"dob": self.dob, "enc": self.enc}.get(
                key, self.enc + timedelta(days=r.randrange(-60, 90))
            )
            if key == "month_year":
                return r.choice(
                    [f"{base:%B} {base.year}", f"{base:%b} '{base:%y}", f"{base:%B} of {base.year}"]
                )
            return render_date(base, r, short=key == "date_short")
        if key.startswith("age"):
            a = self.age
            if key == "age_bare":
                return str(a) if r.random() < 0.8 else number_words(a) if a >= 90 else str(a)
            words = number_words(a) if a >= 90 and r.random() < 0.4 else str(a)
            return r.choice([f"{words}-year-old", f"{words} year old", f"{a} y/o", f"{a}yo", f"{a}-yr-old"]) if words == str(a) else f"{words}-year-old"  # fmt: skip
        if key == "age_young":
            return str(r.choice(pools.AGES_YOUNG))
        phones = {
            "phone": lambda: r.choice([self.phone_us, self.phone_us.replace("(", "").replace(") ", "-"), self.phone_us.replace("(", "").replace(") ", ".").replace("-", ".")]),
            "phone_intl": lambda: r.choice([u.numerify("+52 55 #### ####"), u.numerify("+91-9####-#####"), u.numerify("+44 20 7### ####"), u.numerify("+61 4## ### ###"), u.numerify("+48 6## ### ###"), u.numerify("+1 4##-###-####"), u.numerify("+420 6## ### ###")]),
            "phone_national": lambda: r.choice([u.numerify("04## ### ###"), u.numerify("07### ######"), u.numerify("020 7### ####"), u.numerify("0#### ######"), u.numerify("(0#) #### ####")]),
            "phone_partial": lambda: r.choice([self.phone_us[-4:], f"...{self.phone_us[-7:]}", u.numerify("xxx-xxx-####")]),
            "ext": lambda: u.numerify(r.choice(["####", "###", "#####"])),
            "fax": lambda: r.choice([u.numerify("(###) ###-####"), u.numerify("+44 161 ### ####"), u.numerify("###.###.####")]),
            "pager": lambda: u.numerify(r.choice(["####", "###-####", "#####"])),
        }  # fmt: skip
        if key in phones:
            return phones[key]()
        other = {
            "email": lambda: self.email, "email_clin": lambda: f"{_ascii(self.clinicians[1].given)[0]}.{_ascii(self.clinicians[1].family)}@{r.choice(['nhs.net', 'bmc.org', 'uhn.ca', 'hosp.example.org'])}".lower(),
            "url": lambda: r.choice([f"https://portal.{r.choice(['mychart', 'patientaccess', 'healow'])}.com/p/{u.numerify('#######')}", f"www.{_ascii(self.patient.family).lower()}family.net", f"http://{u.domain_name()}/photos/{_ascii(self.patient.given).lower()}"]),
            "ip": lambda: r.choice([u.ipv4_public(), u.ipv4_private(), u.ipv6()]), "ssn": lambda: self.ssn,
            "mrn": lambda: self.mrn, "street": lambda: self.street, "street_full": lambda: f"{self.street}, {self.city} {self.zip}",
            "street_name": lambda: u.street_name(), "building": lambda: u.building_number(), "apt": lambda: u.secondary_address(),
            "rural": lambda: r.choice([f"RR {r.randrange(1, 9)} Box {r.randrange(10, 400)}", f"Rural Route {r.randrange(1, 9)}", f"R.R. #{r.randrange(1, 9)}"]),
            "city": lambda: self.city, "zip": lambda: self.zip,
            "postcode": lambda: r.choice([self.rng.choice(["SW1A 1AA", "M13 9PL", "EH3 9QQ", "B15 2TT", "LS1 3EX", "G12 8QQ", "CF14 4XW"]), self.ca.postcode(), self.zip]),
            "inst": lambda: self.insts[0], "inst2": lambda: self.insts[1],
        }  # fmt: skip
        if key in other:
            return other[key]()
        return self.ids(key)


def _ascii(text: str) -> str:
    import unicodedata

    flat = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z]", "", flat) or "pt"


class Expander:
    def __init__(self, ctx: Context, rng: random.Random, part: str, templates: list[str]):
        self.ctx, self.rng, self.part, self.templates = ctx, rng, part, templates
        self.trap_pools = {
            "eponym": pools.half(pools.EPONYMS, part), "organism": pools.half(pools.ORGANISMS, part),
            "gene": pools.half(pools.GENES, part), "drug": pools.half(pools.DRUGS, part),
            "lab": [v for _, v in pools.half(pools.LABS, part)], "scale": pools.half(pools.SCALES, part),
            "vital": pools.VITALS, "dose": pools.DOSES, "time": pools.TIMES, "duration": pools.DURATIONS,
            "year": pools.YEARS, "code": pools.CODES, "method": pools.METHOD, "place": pools.PLACE_WORDS,
            "age_young": [str(a) for a in pools.AGES_YOUNG],
        }  # fmt: skip

    def sentences(self, text: str) -> str:
        for _ in range(4):
            text = re.sub(r"<<(\w+)>>", lambda m: self._sentence(m.group(1)), text)
        return re.sub(r"\(\(([^()]*)\)\)", lambda m: self.rng.choice(m.group(1).split("|")), text)

    def _sentence(self, pool: str) -> str:
        if pool == "presidio":
            line = self.rng.choice(self.templates)
            return re.sub(r"\{\{(\w+)\}\}", lambda m: self._presidio(m.group(1)), line)
        return self.rng.choice(SENTENCES[pool])

    def _presidio(self, name: str) -> str:
        if name in PRESIDIO:
            cls, key = PRESIDIO[name]
            return f"[[{cls}:{key}]]"
        plain = {"year": str(self.rng.randrange(1990, 2024)), "state_abbr": self.ctx.us.state_abbr(),
                 "day_of_week": self.ctx.us.day_of_week(), "country": self.ctx.us.country()}  # fmt: skip
        return plain.get(name, name)

    def pieces(self, text: str) -> list[tuple[str, str | None]]:
        """(text, class or None) pieces of one expanded section."""
        out: list[tuple[str, str | None]] = []
        for token in _MARK.split(self.sentences(text)):
            if token.startswith("[[") and token.endswith("]]"):
                cls, key = token[2:-2].split(":")
                value = self.ctx.get(key)
                if cls == "AGE":
                    cls = "AGE_OVER_89" if self.ctx.age >= 90 else "TRAP_AGE"
                out.append((value, cls))
            elif token.startswith("{{") and token.endswith("}}"):
                kind, sep, rest = re.match(r"\{\{([A-Z_]+)([:=])(.*)\}\}", token).groups()
                value = rest if sep == "=" else self.rng.choice(self.trap_pools[rest])
                out.append((value, f"TRAP_{kind}"))
            elif token:
                out.append((token, None))
        return out


def assemble(
    pieces: list[tuple[str, str | None]], pointer: str, where: str, xhtml: bool
) -> tuple[str, list[dict]]:
    text, spans = "", []
    for value, cls in pieces:
        piece = html.escape(value, quote=False).replace("\n", "<br/>") if xhtml else value
        if cls:
            assert piece == value, f"span text changed by escaping: {value!r}"
            spans.append(
                {
                    "pointer": pointer,
                    "start": len(text),
                    "end": len(text) + len(piece),
                    "text": value,
                    "class": cls,
                    "where": where,
                }
            )
        text += piece
    if xhtml:
        prefix = f'<div xmlns="{XHTML}"><p>'
        text = prefix + text + "</p></div>"
        for s in spans:
            s["start"] += len(prefix)
            s["end"] += len(prefix)
    return text, spans


def structured(pointer: str, value: str, cls: str) -> dict:
    return {
        "pointer": pointer,
        "start": 0,
        "end": len(value),
        "text": value,
        "class": cls,
        "where": STRUCTURED,
    }


def diagnoses(rng: random.Random, part: str) -> list[dict]:
    options = [("E05.0", "Graves' disease"), ("G51.0", "Bell's palsy"), ("C81.90", "Hodgkin lymphoma, unspecified"),
               ("G20", "Parkinson's disease"), ("K50.90", "Crohn's disease"), ("E27.1", "Addison's disease"),
               ("E11.9", "Type 2 diabetes mellitus"), ("J18.9", "Pneumonia"), ("N39.0", "Urinary tract infection"),
               ("Q90.9", "Down syndrome")]  # fmt: skip
    return [
        {"code": c, "display": d}
        for c, d in rng.sample(pools.half(options, part), rng.randrange(1, 3))
    ]


def make_case_report(
    ctx: Context, sections: list[list], style: str, rng: random.Random, n: int
) -> tuple[dict, list[dict]]:
    notes_pieces: list = []
    for index, section in enumerate(sections):
        notes_pieces += ([("\n\n", None)] if index else []) + section
    notes, spans = assemble(notes_pieces, "/notes", FREE, xhtml=False)
    p = ctx.patient
    name = p.render(rng.choice(["full", "middle", "last_first"]), rng)
    report_id = f"CR-{ctx.enc.year}-{rng.randrange(10**5, 10**6)}"
    phys = ctx.get("clin")
    doc: dict = {
        "schema_version": 1, "report_id": report_id,
        "patient": {"patient_id": ctx.mrn, "name": name, "birth_date": ctx.dob.isoformat(),
                    "sex": "F" if p.female else "M",
                    "address": {"line": [ctx.street], "city": ctx.city, "state": ctx.us.state_abbr(), "postal_code": ctx.zip, "country": "US"},
                    "phone": ctx.phone_us, "email": ctx.email, "ssn": ctx.ssn, "medical_record_number": ctx.mrn,
                    "health_plan_number": ctx.ids("hplan")},
        "encounter_date": ctx.enc.isoformat(), "facility": ctx.insts[0], "physician": phys,
        "diagnoses": diagnoses(rng, ctx.part), "notes": notes,
    }  # fmt: skip
    pt = doc["patient"]
    labels = [structured("/report_id", report_id, "ID_OTHER"), structured("/patient/patient_id", ctx.mrn, "MRN"),
              structured("/patient/name", name, "NAME_PATIENT"), structured("/patient/birth_date", pt["birth_date"], "DATE"),
              structured("/patient/address/line/0", ctx.street, "ADDRESS"), structured("/patient/address/city", ctx.city, "CITY"),
              structured("/patient/address/postal_code", ctx.zip, "ZIP"), structured("/patient/phone", ctx.phone_us, "PHONE"),
              structured("/patient/email", ctx.email, "EMAIL"), structured("/patient/ssn", ctx.ssn, "SSN"),
              structured("/patient/medical_record_number", ctx.mrn, "MRN"),
              structured("/patient/health_plan_number", pt["health_plan_number"], "HEALTH_PLAN"),
              structured("/encounter_date", doc["encounter_date"], "DATE"), structured("/facility", ctx.insts[0], "INSTITUTION"),
              structured("/physician", phys, "NAME_CLINICIAN")]  # fmt: skip
    for i, dx in enumerate(doc["diagnoses"]):
        labels.append(structured(f"/diagnoses/{i}/display", dx["display"], "TRAP_DIAGNOSIS"))
    return doc, labels + spans


def _uuid(rng: random.Random) -> str:
    bits = [rng.getrandbits(n) for n in (32, 16, 12, 12, 48)]
    return f"{bits[0]:08x}-{bits[1]:04x}-4{bits[2]:03x}-a{bits[3]:03x}-{bits[4]:012x}"


def make_bundle(
    ctx: Context, sections: list[list], placement: str, rng: random.Random, realistic: bool = False
) -> tuple[dict, list[dict]]:
    p, labels = ctx.patient, []
    entries: list[dict] = []
    pid = _uuid(rng)

    def add(resource: dict) -> str:
        entries.append({"fullUrl": f"urn:uuid:{_uuid(rng)}", "resource": resource})
        return f"/entry/{len(entries) - 1}/resource"

    hplan = ctx.ids("hplan")
    patient = {
        "resourceType": "Patient", "id": pid,
        "identifier": [
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}, "value": ctx.mrn},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": ctx.ssn},
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}]}, "value": hplan}],
        "name": [{"family": p.family, "given": [p.given]}],
        "telecom": [{"system": "phone", "value": ctx.phone_us}, {"system": "email", "value": ctx.email}],
        "gender": "female" if p.female else "male", "birthDate": ctx.dob.isoformat(),
        "address": [{"line": [ctx.street], "city": ctx.city, "state": ctx.us.state_abbr(), "postalCode": ctx.zip}],
    }  # fmt: skip
    with_contact = rng.random() < 0.4
    if with_contact:  # ignored by today's door, kept: issue 11 wants it to reach the detector
        rel_phone = ctx.get("phone_intl")
        patient["contact"] = [{"relationship": [{"text": "next of kin"}], "name": {"family": p.family, "given": [ctx.rel_same.given]},
                               "telecom": [{"system": "phone", "value": rel_phone}]}]  # fmt: skip
    at = add(patient)
    for ptr, value, cls in [
        (f"{at}/identifier/0/value", ctx.mrn, "MRN"),
        (f"{at}/identifier/1/value", ctx.ssn, "SSN"),
        (f"{at}/identifier/2/value", hplan, "HEALTH_PLAN"),
        (f"{at}/name/0/family", p.family, "NAME_PATIENT"),
        (f"{at}/name/0/given/0", p.given, "NAME_PATIENT"),
        (f"{at}/telecom/0/value", ctx.phone_us, "PHONE"),
        (f"{at}/telecom/1/value", ctx.email, "EMAIL"),
        (f"{at}/birthDate", ctx.dob.isoformat(), "DATE"),
        (f"{at}/address/0/line/0", ctx.street, "ADDRESS"),
        (f"{at}/address/0/city", ctx.city, "CITY"),
        (f"{at}/address/0/postalCode", ctx.zip, "ZIP"),
    ]:
        labels.append(structured(ptr, value, cls))
    if with_contact:
        labels += [structured(f"{at}/contact/0/name/family", p.family, "NAME_RELATIVE"),
                   structured(f"{at}/contact/0/name/given/0", ctx.rel_same.given, "NAME_RELATIVE"),
                   structured(f"{at}/contact/0/telecom/0/value", rel_phone, "PHONE")]  # fmt: skip
    clin, start = (
        ctx.get("clin"),
        f"{ctx.enc.isoformat()}T{rng.randrange(7, 20):02d}:{rng.randrange(60):02d}:00Z",
    )
    encounter = {
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": rng.choice(["AMB", "IMP", "EMER"])},
        "period": {"start": start}, "participant": [{"individual": {"display": clin}}],
        "serviceProvider": {"display": ctx.insts[0]},
    }  # fmt: skip
    first, rest = sections[0], sections[1:]
    if placement == "encounter":
        div, spans = assemble(first, "", FREE, xhtml=True)
        encounter["text"] = {"status": "additional", "div": div}
    at = add(encounter)
    labels += [structured(f"{at}/period/start", start, "DATE") | {"end": 10, "text": start[:10]},
               structured(f"{at}/participant/0/individual/display", clin, "NAME_CLINICIAN"),
               structured(f"{at}/serviceProvider/display", ctx.insts[0], "INSTITUTION")]  # fmt: skip
    if placement == "encounter":
        labels += [s | {"pointer": f"{at}/text/div"} for s in spans]
    dx = diagnoses(rng, ctx.part)[0]
    condition = {"resourceType": "Condition", "subject": {"reference": f"Patient/{pid}"},
                 "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": dx["code"], "display": dx["display"]}]}}  # fmt: skip
    notes_for_condition = (
        rest[:-1]
        if placement == "encounter" and len(rest) > 1
        else rest
        if placement == "encounter"
        else []
    )
    condition["note"] = []
    at = add(condition)
    labels.append(structured(f"{at}/code/coding/0/display", dx["display"], "TRAP_DIAGNOSIS"))
    for i, section in enumerate(notes_for_condition):
        text, spans = assemble(section, f"{at}/note/{i}/text", FREE, xhtml=False)
        condition["note"].append({"text": text})
        labels += spans
    if placement == "encounter" and len(rest) > 1:
        eff = (ctx.enc + timedelta(days=rng.randrange(0, 3))).isoformat()
        text, spans = assemble(rest[-1], "", FREE, xhtml=False)
        obs = {"resourceType": "Observation", "status": "final",
               "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}]},
               "valueQuantity": {"value": round(rng.uniform(70, 260), 1), "unit": "mg/dL"},
               "effectiveDateTime": eff, "note": [{"text": text}]}  # fmt: skip
        at = add(obs)
        labels += [structured(f"{at}/effectiveDateTime", eff, "DATE")] + [
            s | {"pointer": f"{at}/note/0/text"} for s in spans
        ]
    if placement == "report":
        issued = f"{(ctx.enc + timedelta(days=1)).isoformat()}T09:00:00Z"
        div, spans = assemble(first, "", FREE, xhtml=True)
        report = {"resourceType": "DiagnosticReport", "status": "final",
                  "code": {"coding": [{"system": "http://loinc.org", "code": "11526-1", "display": "Pathology study"}]},
                  "effectiveDateTime": ctx.enc.isoformat(), "issued": issued,
                  "text": {"status": "additional", "div": div}}  # fmt: skip
        conclusion_pieces: list = []
        for i, section in enumerate(rest):
            conclusion_pieces += ([("\n", None)] if i else []) + section
        conclusion, cspans = assemble(conclusion_pieces, "", FREE, xhtml=False)
        report["conclusion"] = conclusion
        at = add(report)
        labels += [structured(f"{at}/effectiveDateTime", ctx.enc.isoformat(), "DATE"),
                   structured(f"{at}/issued", issued, "DATE") | {"end": 10, "text": issued[:10]}]  # fmt: skip
        labels += [s | {"pointer": f"{at}/text/div"} for s in spans] + [
            s | {"pointer": f"{at}/conclusion"} for s in cspans
        ]
    bundle = {"resourceType": "Bundle", "id": _uuid(rng), "type": "collection", "entry": entries}
    if realistic:
        add_realistic(bundle, ctx, rng, labels, pid)
    return bundle, labels


def add_realistic(
    bundle: dict, ctx: Context, rng: random.Random, labels: list[dict], pid: str
) -> None:
    """Resource types the door refuses today (issue 14): Practitioner, Procedure, Claim, DocumentReference."""
    entries = bundle["entry"]
    c = ctx.clinicians[1]
    note = f"Operative note: {ctx.patient.given} {ctx.patient.family} seen {render_date(ctx.enc, rng)} by {c.given} {c.family}. Call {ctx.phone_us}."
    acct = ctx.ids("acct")
    resources = [
        ({"resourceType": "Practitioner", "name": [{"family": c.family, "given": [c.given]}]},
         [("/name/0/family", c.family, "NAME_CLINICIAN"), ("/name/0/given/0", c.given, "NAME_CLINICIAN")]),
        ({"resourceType": "Procedure", "status": "completed", "subject": {"reference": f"Patient/{pid}"},
          "code": {"text": "Whipple procedure"}, "performedDateTime": ctx.enc.isoformat(),
          "note": [{"text": f"Performed at {ctx.insts[0]} by Dr {c.family}."}]},
         [("/performedDateTime", ctx.enc.isoformat(), "DATE"), ("/code/text", "Whipple procedure", "TRAP_EPONYM")]),
        ({"resourceType": "Claim", "status": "active", "use": "claim", "patient": {"reference": f"Patient/{pid}"},
          "created": ctx.enc.isoformat(), "identifier": [{"value": acct}]},
         [("/created", ctx.enc.isoformat(), "DATE"), ("/identifier/0/value", acct, "ACCOUNT")]),
        ({"resourceType": "DocumentReference", "status": "current", "subject": {"reference": f"Patient/{pid}"},
          "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(note.encode()).decode()}}]}, []),
    ]  # fmt: skip
    for resource, spans in resources:
        entries.append({"fullUrl": f"urn:uuid:{_uuid(rng)}", "resource": resource})
        at = f"/entry/{len(entries) - 1}/resource"
        labels += [structured(at + ptr, value, cls) for ptr, value, cls in spans]
    proc_note = entries[-3]["resource"]["note"][0]["text"]
    for value, cls in [(ctx.insts[0], "INSTITUTION"), (c.family, "NAME_CLINICIAN")]:
        i = proc_note.index(value)
        labels.append(
            {
                "pointer": f"/entry/{len(entries) - 3}/resource/note/0/text",
                "start": i,
                "end": i + len(value),
                "text": value,
                "class": cls,
                "where": FREE,
            }
        )
    # The attachment is base64: its spans point into the decoded text (see README).
    ptr = f"/entry/{len(entries) - 1}/resource/content/0/attachment/data"
    for value, cls in [
        (f"{ctx.patient.given} {ctx.patient.family}", "NAME_PATIENT"),
        (f"{c.given} {c.family}", "NAME_CLINICIAN"),
        (ctx.phone_us, "PHONE"),
    ]:
        i = note.index(value)
        labels.append(
            {
                "pointer": ptr,
                "decoded": "base64",
                "start": i,
                "end": i + len(value),
                "text": value,
                "class": cls,
                "where": FREE,
            }
        )


def resolve(doc: object, pointer: str) -> object:
    for part in pointer.split("/")[1:]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]  # type: ignore[index]
    return doc


def check_offsets(doc: dict, labels: list[dict]) -> None:
    for s in labels:
        value = resolve(doc, s["pointer"])
        if s.get("decoded") == "base64":
            value = base64.b64decode(value).decode()
        assert isinstance(value, str) and value[s["start"] : s["end"]] == s["text"], (s, value)


def build(
    part: str,
    count: int,
    seed: int,
    out: Path,
    templates: list[str],
    fakers: dict[str, Faker],
    realistic: bool = False,
) -> dict:
    rng = random.Random(seed)
    for locale, fake in fakers.items():
        fake.seed_instance(seed + sum(map(ord, locale)))
    docs_dir, labels_dir = out / "docs", out / "labels"
    for folder in (docs_dir, labels_dir):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.json"):
            old.unlink()
    stats: dict = {
        "documents": 0,
        "by_style": Counter(),
        "by_format": Counter(),
        "by_class": Counter(),
        "by_class_free": Counter(),
    }
    for n in range(1, count + 1):
        style, placement, variants = (
            STYLES[(n - 1) % len(STYLES)] if n <= len(STYLES) else rng.choice(STYLES)
        )
        usable = variants[-1:] if part == "dev" else variants[:-1] or variants
        ctx = Context(rng, fakers, part)
        expander = Expander(ctx, rng, part, templates)
        sections = [expander.pieces(s.strip("\n")) for s in rng.choice(usable).split("§")]
        fhir = realistic or rng.random() < 0.45
        if fhir:
            doc, labels = make_bundle(ctx, sections, placement, rng, realistic)
        else:
            doc, labels = make_case_report(ctx, sections, style, rng, n)
        check_offsets(doc, labels)
        name = f"{n:04d}.json"
        (docs_dir / name).write_text(
            json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        meta = {"document": f"docs/{name}", "format": "fhir" if fhir else "case_report",
                "media_type": "application/fhir+json" if fhir else "application/json", "style": style,
                "patient_age": ctx.age, "spans": labels}  # fmt: skip
        (labels_dir / name).write_text(
            json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        stats["documents"] += 1
        stats["by_style"][style] += 1
        stats["by_format"][meta["format"]] += 1
        for s in labels:
            stats["by_class"][s["class"]] += 1
            if s["where"] == FREE:
                stats["by_class_free"][s["class"]] += 1
    stats = {k: dict(sorted(v.items())) if isinstance(v, Counter) else v for k, v in stats.items()}
    (out / "stats.json").write_text(json.dumps(stats, indent=1) + "\n")
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["eval", "dev", "fhir-realistic"], action="append")
    args = parser.parse_args()
    lines = (HERE / "presidio_templates.txt").read_text(encoding="utf-8").splitlines()
    templates = [line for line in lines if line and not line.startswith("#")]
    fakers = {
        locale: Faker(locale)
        for locale in set(pools.LOCALES) | {"en_GB", "en_CA", "en_AU", "pl_PL"}
    }
    plan = [("eval", 520, 11_2024), ("dev", 200, 7), ("fhir-realistic", 24, 14)]
    for part, count, seed in plan:
        if args.only and part not in args.only:
            continue
        half = "eval" if part == "fhir-realistic" else part
        stats = build(
            half, count, seed, HERE / part, templates, fakers, realistic=part == "fhir-realistic"
        )
        print(part, json.dumps(stats))


if __name__ == "__main__":
    main()
