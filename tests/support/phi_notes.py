"""A labelled set of clinical notes with PHI injected at known character spans.

`generate_notes(count, seed)` builds realistic short notes (breast clinic, diabetes
follow-up, imaging, pathology, telephone and discharge notes) from sentence templates,
filling PHI slots of every class and recording where each value landed. Non-PHI
content that looks like PHI is mixed in on purpose (measurements, blood pressures,
lab values, years, ages under 90, eponyms, drug names, receptor status).

Names: half of the notes use names from the detector's own lexicon files; the other
half use `UNSEEN_FIRST` / `UNSEEN_LAST`, which are checked to be absent from that
lexicon, so the score on them measures how the detector generalises.

`python -m tests.support.phi_notes DIR [--count N] [--seed S]` writes the set as a
labelled case-report corpus (each note the `notes` of a JSON case report whose own
identifiers occur nowhere in it) that `medshare deid evaluate-notes --corpus DIR` scores.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from medshare_anonymizer.case_report.patterns import lexicon_lines

LABELS = ("NAME", "DATE", "PHONE", "FAX", "EMAIL", "URL", "IP", "SSN", "ID", "ADDRESS", "ZIP",
          "LOCATION", "FACILITY", "AGE")  # fmt: skip


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Names that are not in the detector's lexicon (asserted by `unseen_pool`).
UNSEEN_FIRST = _split(
    "Thandiwe Oluwaseun Kwabena Xiomara Bartholomew Ignatius Perpetua Zephyrine Anselm Leocadia "
    "Ottoline Florian Casimir Radomir Svetlana Eamon Siobhan Niamh Tadhg Oisin Ailbhe Saoirse "
    "Bronwen Dafydd Gwilym Rhiannon Ifeoma Chidi Ngozi Adaeze Obinna Tendai Farai Kudzai "
    "Mehmet Ayse Emine Yusuf Zeynep Baptiste Clementine Apolline Gaspard Leopoldine Wenceslas "
    "Bogdan Zdenka Miroslav Jaroslava Vaclav Henrike Wiebke Kornelius Ottilie Solveig Torbjorn "
    "Eilif Ragnhild Sigrun Anneliese Kaveh Shirin Darius Parisa Arash Thiago Joaquim Iracema "
    "Kalani Keoni Leilani Makoa Nalani Tavita Losana Sione Mele Ximena Itzel Citlali Yaretzi "
    "Quetzalli Dagny Ingeborg Halvard Mathilde Evander Leontyne Cornelis Hendrika Wim Griet"
)
UNSEEN_LAST = _split(
    "Okonkwo Przybylski Vanderhoek Abernethy Szczepanski Oyelaran Adeyemi Nwachukwu Mbeki "
    "Thorvaldsen Haugland Brekke Kowalczyk Wisniewska Dziedzic Grzelak Vukovic Petrovic "
    "Karagiannis Papadakis Economou Tsiolkas Fitzwilliam Blackwood Ravenscroft Ashcombe "
    "Pendleton Thistlewood Underhill Wetherby Quennell Lindqvist Sandberg Engstrom Holmqvist "
    "Jaaskelainen Virtanen Nieminen Lehtonen Mukherjee Chattopadhyay Venkataraman Raghunathan "
    "Subramaniam Ekwueme Otieno Wanjiru Kariuki Achterberg Oosthuizen Dlamini Mahlangu "
    "Ndlovu Nakashima Takahashi Yamaguchi Hasegawa Kobayashi Matsumoto Ishikawa Fujimoto "
    "Castellanos Villaseñor Arizmendi Echeverria Urquhart Mackintosh Drummond Farquharson "
    "Trelawney Penhaligon Tregarthen Polkinghorne Brassington Featherstonehaugh Oyelowo"
)
CITIES = ("Springfield", "Riverton", "Fairview", "Georgetown", "Ashland", "Kalamazoo",
          "Oshkosh", "Pueblo", "Duluth", "Bangor", "Macon", "Waco", "Provo", "Muncie")  # fmt: skip
STATES = ("IL", "WY", "NJ", "OH", "KY", "MI", "WI", "CO", "MN", "ME", "GA", "TX", "UT", "IN")
STREETS = ("Larkspur", "Maple", "Chestnut", "Willow Creek", "Old Mill", "Juniper", "Harbor View",
           "Quarry", "Magnolia", "Birchwood", "Sycamore", "Ridgeview")  # fmt: skip
STREET_TYPES = ("Lane", "Street", "Avenue", "Road", "Drive", "Court", "Way", "Blvd.", "Ave", "St")
FACILITY_NAMES = ("Springfield General Hospital", "St. Agatha Medical Center",
                  "Riverside Community Hospital", "Mercy Regional Medical Center",
                  "Lakeshore Breast Center", "Hollowbrook Clinic", "Saint Columba Hospital",
                  "Northgate Family Medicine", "University of Pemberton Medical Center",
                  "Cedar Valley Cancer Center", "Brightwater Imaging Center")  # fmt: skip
RELATIONS = ("daughter", "son", "husband", "wife", "sister", "brother", "niece", "neighbor")
PORTALS = ("mercyhealth", "cedarvalley", "myclinic")
SITES = ("breastcare", "diabetesfacts", "healthyliving")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip

FILLER = (
    "Palpable mass in the upper outer quadrant of the left breast, approximately 2.1 cm.",
    "Mammogram shows an irregular spiculated mass, BI-RADS 5.",
    "Fine-needle aspirate reviewed: atypical ductal cells, nuclear grade 2.",
    "Core biopsy confirms invasive ductal carcinoma, ER+/PR+/HER2-, Ki-67 20%.",
    "Blood pressure 128/76, pulse 72, BMI 31.4.",
    "HbA1c 7.8% today, up from 7.1% in 2019.",
    "Fasting glucose 142 mg/dL; LDL 131 mg/dL, HDL 38 mg/dL, triglycerides 210 mg/dL.",
    "Continue metformin 1000 mg twice daily and atorvastatin 40 mg at bedtime.",
    "Started on tamoxifen 20 mg daily; discussed side effects including hot flashes.",
    "No axillary lymphadenopathy on exam. Skin intact, no nipple retraction.",
    "Family history of breast cancer in maternal aunt diagnosed at age 54.",
    "Denies fever, chills, weight loss or night sweats.",
    "Ultrasound of the right axilla: two lymph nodes with preserved fatty hila, 0.8 cm and 1.1 cm.",
    "Patient is a 58-year-old woman with type 2 diabetes diagnosed in 2015.",
    "She walks 30 minutes 3 times a week and follows a low-carbohydrate diet.",
    "Foot exam: monofilament sensation intact bilaterally, dorsalis pedis pulses 2+.",
    "Retinal screening last year showed no diabetic retinopathy.",
    "Plan: lumpectomy with sentinel node biopsy, then radiation therapy.",
    "Tumor board recommended neoadjuvant chemotherapy with AC-T.",
    "History of Paget's disease of bone, stable, no treatment.",
    "Egfr 74 mL/min/1.73m2, creatinine 0.9 mg/dL, potassium 4.2 mmol/L.",
    "Return to clinic in 3 months with repeat labs.",
    "Pathology: margins negative, closest margin 4 mm; 0/3 sentinel nodes involved.",
    "Pain 3/10, controlled with acetaminophen 500 mg every 6 hours as needed.",
    "Discussed the Oncotype DX recurrence score of 18.",
    "Echocardiogram shows ejection fraction of 60%.",
    "CT chest, abdomen and pelvis without evidence of metastatic disease.",
    "Weight 82.4 kg, down 3 kg since the last visit.",
    "Insulin glargine increased to 22 units at night.",
    "Gleason score not applicable; Nottingham grade 2 of 3.",
    # harder distractors: eponyms, brands, devices, staging codes, rooms, times
    "Foley catheter removed on post-operative day 1.",
    "Doppler ultrasound of the legs negative for DVT.",
    "Holter monitor showed rare PVCs.",
    "Switched to Xeloda after discussion of options; Keytruda not indicated.",
    "Whipple procedure in 2011 for a benign lesion.",
    "Bell's palsy in 2008, resolved.",
    "Seen in the Emergency Department overnight; Breast Surgery consulted.",
    "Stage pT1cN0M0, ECOG 1, ICD-10 C50.412, CPT 19083.",
    "Room 412, bed B; vitals at 14:30 stable.",
    "Hb 12.1 g/dL, INR 1.1, platelets 245,000.",
    "Pap smear and Tdap are up to date; Medicare annual wellness visit done.",
    "Glasgow Coma Scale 15; Romberg negative.",
    "BRCA2 testing negative; MammaPrint low risk.",
    "Lantus pen, Dexcom sensor and Omnipod supplies refilled.",
    "Aged 74 at diagnosis of her first cancer, the patient is now 81.",
)


Template = tuple[str, dict[str, tuple[str, str | None]]]


@dataclass
class LabelledNote:
    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    unseen_names: bool = False


def lexicon_pool() -> tuple[list[str], list[str]]:
    return lexicon_lines("first_names.txt"), lexicon_lines("last_names.txt")


def unseen_pool() -> tuple[list[str], list[str]]:
    known = {n.lower() for pool in lexicon_pool() for n in pool}
    first = [n for n in UNSEEN_FIRST if n.lower() not in known]
    last = [n for n in UNSEEN_LAST if not set(n.lower().split()) & known]
    return first, last


class _Builder:
    """Appends text pieces and records the spans of PHI pieces."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.spans: list[tuple[int, int, str]] = []

    def add(self, text: str, label: str | None = None) -> None:
        if label is not None:
            self.spans.append((self.length, self.length + len(text), label))
        self.parts.append(text)
        self.length += len(text)

    def template(self, template: str, values: dict[str, tuple[str, str | None]]) -> None:
        """`values`: slot -> (text, label); a label of None is plain text."""
        cursor = 0
        for match in re.finditer(r"\{(\w+)\}", template):
            self.add(template[cursor : match.start()])
            text, label = values[match.group(1)]
            self.add(text, label)
            cursor = match.end()
        self.add(template[cursor:])

    def text(self) -> str:
        return "".join(self.parts)


class _Faker:
    def __init__(self, rng: random.Random, unseen: bool) -> None:
        self.rng = rng
        self.first, self.last = unseen_pool() if unseen else lexicon_pool()

    def person(self) -> tuple[str, str]:
        return self.rng.choice(self.first), self.rng.choice(self.last)

    def name(self) -> str:
        first, last = self.person()
        style = self.rng.randrange(6)
        if style == 0:
            return f"{first} {last}"
        if style == 1:
            return f"{first} {self.rng.choice('ABCDEFGHJKLMNPRSTW')}. {last}"
        if style == 2:
            return f"{last}, {first}"
        return f"{first} {last}" if style == 3 else last if style == 4 else first

    def date(self) -> str:
        day = date(2015, 1, 1) + timedelta(days=self.rng.randrange(3650))
        m, d, y = day.month, day.day, day.year
        month = MONTHS[m - 1]
        forms = (
            f"{m:02d}/{d:02d}/{y}", f"{m}/{d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{month} {d}, {y}",
            f"{d} {month} {y}", f"{month[:3]} {d}", f"{m}/{d}/{y % 100:02d}", f"{month} {d}",
            f"{d}.{m:02d}.{y}", f"{month} {y}", f"{month[:3]}. {d}, {y}",
        )  # fmt: skip
        return self.rng.choice(forms)

    def phone(self) -> str:
        a, b, c = self.rng.randint(201, 989), self.rng.randint(200, 999), self.rng.randint(0, 9999)
        extension = self.rng.randint(10, 999)
        forms = (
            f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"{a}.{b}.{c:04d}", f"+1 {a} {b} {c:04d}",
            f"{a}-{b}-{c:04d} ext. {extension}",
        )  # fmt: skip
        return self.rng.choice(forms)

    def digits(self, n: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(n))

    def mrn(self) -> str:
        letter = self.rng.choice("ABKMZ")
        forms = (
            f"MRN-{self.digits(7)}", self.digits(8), f"{letter}{self.digits(7)}",
            f"{self.digits(3)}-{self.digits(4)}-{self.digits(2)}",
        )  # fmt: skip
        return self.rng.choice(forms)

    def email(self, first: str, last: str) -> str:
        domain = self.rng.choice(("example.com", "mailbox.org", "corp-mail.net", "uni.edu"))
        return f"{first.lower()}.{last.lower().replace(' ', '')}{self.rng.randint(1, 99)}@{domain}"

    def ip(self) -> str:
        if self.rng.random() < 0.15:
            return "fe80::" + ":".join(f"{self.rng.randrange(65536):x}" for _ in range(4))
        return ".".join(str(self.rng.randint(1, 254)) for _ in range(4))

    def street(self) -> str:
        number = self.rng.randint(1, 9899)
        unit = self.rng.choice(
            ("", "", f", Apt {self.rng.randint(1, 40)}", f" Unit {self.rng.randint(1, 9)}B")
        )
        return f"{number} {self.rng.choice(STREETS)} {self.rng.choice(STREET_TYPES)}{unit}"


def _phi_sentences(fake: _Faker) -> list[tuple[str, dict[str, tuple[str, str | None]]]]:
    """Templates with their slot values; a new draw every call."""
    rng = fake.rng
    first, last = fake.person()
    doctor = fake.person()
    relative = fake.name()
    city_index = rng.randrange(len(CITIES))
    city, state = CITIES[city_index], STATES[city_index]
    zip_code = fake.digits(5) if rng.random() < 0.7 else f"{fake.digits(5)}-{fake.digits(4)}"
    old_age = str(rng.randint(90, 104))
    facility = rng.choice(FACILITY_NAMES)
    patient = rng.choice((f"{first} {last}", last, f"{first} {last}", first))
    email = fake.email(first, last)
    return [
        ("{P} was seen in clinic today for follow-up.", {"P": (patient, "NAME")}),
        ("Patient: {P}", {"P": (fake.name(), "NAME")}),
        ("Ms. {P} presents with a palpable breast lump.", {"P": (last, "NAME")}),
        ("Mr. {P} returns for his diabetes visit.", {"P": (f"{first} {last}", "NAME")}),
        ("Seen with Dr. {D} on {W}.", {"D": (doctor[1], "NAME"), "W": (fake.date(), "DATE")}),
        (
            "Discussed with {D}, MD, who agrees with the plan.",
            {"D": (f"{doctor[0]} {doctor[1]}", "NAME")},
        ),
        (
            "Her {R} {N} accompanied her today.",
            {"R": (rng.choice(RELATIONS), None), "N": (relative, "NAME")},
        ),
        (
            "Spoke with {N} ({R}) by phone at {T}.",
            {
                "N": (relative, "NAME"),
                "R": (rng.choice(RELATIONS), None),
                "T": (fake.phone(), "PHONE"),
            },
        ),
        ("Date of birth: {B}.", {"B": (fake.date(), "DATE")}),
        (
            "Admitted {A} and discharged {B}.",
            {"A": (fake.date(), "DATE"), "B": (fake.date(), "DATE")},
        ),
        (
            "Biopsy performed on {A}; results discussed {B}.",
            {"A": (fake.date(), "DATE"), "B": (fake.date(), "DATE")},
        ),
        ("Call back number {T}.", {"T": (fake.phone(), "PHONE")}),
        ("Please fax records to {F}.", {"F": (fake.phone(), "FAX")}),
        ("Fax: {F}", {"F": (fake.phone(), "FAX")}),
        ("Patient e-mail: {E}", {"E": (email, "EMAIL")}),
        (
            "She sent photos via the portal at {U}.",
            {
                "U": (
                    f"https://portal.{rng.choice(PORTALS)}.org/msg/{fake.digits(6)}",
                    "URL",
                )
            },
        ),
        (
            "Education material: {U}",
            {
                "U": (
                    f"www.{rng.choice(SITES)}.org/{rng.choice(('diet', 'biopsy', 'insulin'))}",
                    "URL",
                )
            },
        ),
        ("Remote monitoring upload from IP {I}.", {"I": (fake.ip(), "IP")}),
        ("SSN {S} on file.", {"S": (f"{fake.digits(3)}-{fake.digits(2)}-{fake.digits(4)}", "SSN")}),
        ("MRN: {M}", {"M": (fake.mrn(), "ID")}),
        ("Medical record number {M}.", {"M": (fake.mrn(), "ID")}),
        (
            "Insurance member ID {M}.",
            {"M": (f"{rng.choice(('XKH', 'BCB', 'UHC'))}{fake.digits(9)}", "ID")},
        ),
        ("Account # {M}.", {"M": (fake.digits(10), "ID")}),
        (
            "Driver's license {M} verified at registration.",
            {
                "M": (
                    f"{rng.choice('DFKS')}{fake.digits(3)}-{fake.digits(4)}-{fake.digits(4)}",
                    "ID",
                )
            },
        ),
        ("Insulin pump serial number {M}.", {"M": (f"PMP{fake.digits(8)}", "ID")}),
        (
            "Her car, plate {M}, was towed from the lot.",
            {
                "M": (
                    f"{rng.randint(1, 9)}{rng.choice(('ABC', 'KTR', 'XLM'))}{fake.digits(3)}",
                    "ID",
                )
            },
        ),
        (
            "Lives at {S}, {C}, {T} {Z}.",
            {
                "S": (fake.street(), "ADDRESS"),
                "C": (city, "LOCATION"),
                "T": (state, None),
                "Z": (zip_code, "ZIP"),
            },
        ),
        ("Home address: {S}.", {"S": (fake.street(), "ADDRESS")}),
        ("She moved to {C} last year.", {"C": (city, "LOCATION")}),
        ("Transferred from {H} for further care.", {"H": (facility, "FACILITY")}),
        ("Prior imaging was done at {H}.", {"H": (facility, "FACILITY")}),
        ("Her mother, who lived to {A} years old, had breast cancer.", {"A": (old_age, "AGE")}),
        ("Patient is a {A}-year-old woman with a new mass.", {"A": (old_age, "AGE")}),
        ("{P}'s glucose log reviewed with her.", {"P": (last, "NAME")}),
        ("Lab results sent to {E} as requested.", {"E": (email, "EMAIL")}),
        (
            "Follow up with Dr. {D} in {C} on {W}.",
            {"D": (doctor[1], "NAME"), "C": (city, "LOCATION"), "W": (fake.date(), "DATE")},
        ),
        *_harder_sentences(fake, first, last, patient, doctor, facility, city),
    ]


def _harder_sentences(
    fake: _Faker,
    first: str,
    last: str,
    patient: str,
    doctor: tuple[str, str],
    facility: str,
    city: str,
) -> list[tuple[str, dict[str, tuple[str, str | None]]]]:
    """Phrasings where a name has less evidence around it."""
    other = fake.person()
    return [
        ("{P}, who is 62, tolerated the infusion well.", {"P": (last, "NAME")}),
        ("Per {N}, her pain improved this week.", {"N": (first, "NAME")}),
        (
            "Transport arranged by her granddaughter, {N}, for {W}.",
            {"N": (fake.name(), "NAME"), "W": (fake.date(), "DATE")},
        ),
        ("Husband ({N}) present for the discussion.", {"N": (other[0], "NAME")}),
        ("PATIENT: {N}", {"N": (f"{last.upper()}, {first.upper()}", "NAME")}),
        ("cc: Dr. {A}; Dr. {B}", {"A": (doctor[1], "NAME"), "B": (other[1], "NAME")}),
        ("Signed: {N}, RN", {"N": (f"{other[0]} {other[1]}", "NAME")}),
        ("{P} brought her medication list and glucose log.", {"P": (first, "NAME")}),
        (
            "Results reviewed with {P} and her sister {N}.",
            {"P": (patient, "NAME"), "N": (other[0], "NAME")},
        ),
        (
            "Next visit {W} at {H}, {C}.",
            {"W": (fake.date(), "DATE"), "H": (facility, "FACILITY"), "C": (city, "LOCATION")},
        ),
        (
            "Pager {T}; clinic nurse line {U}.",
            {"T": (fake.phone(), "PHONE"), "U": (fake.phone(), "PHONE")},
        ),
        (
            "Specimen accession {M} sent to pathology.",
            {"M": (f"S{fake.digits(2)}-{fake.digits(5)}", "ID")},
        ),
    ]


def generate_notes(count: int = 600, seed: int = 20240611) -> list[LabelledNote]:
    rng = random.Random(seed)
    notes = []
    for index in range(count):
        unseen = index % 2 == 1
        fake = _Faker(rng, unseen)
        builder = _Builder()
        phi = _phi_sentences(fake)
        chosen = rng.sample(range(len(phi)), rng.randint(4, 7))
        fillers = rng.sample(FILLER, rng.randint(2, 4))
        pieces: list[str | Template] = [phi[i] for i in chosen] + list(fillers)
        rng.shuffle(pieces)
        for number, piece in enumerate(pieces):
            if number:
                # A piece without final punctuation (a "Label: value" line) ends its line.
                ended = builder.text().rstrip().endswith((".", "?", "!"))
                builder.add("\n" if rng.random() < 0.3 or not ended else " ")
            if isinstance(piece, str):
                builder.add(piece)
            else:
                builder.template(*piece)
        notes.append(LabelledNote(builder.text(), builder.spans, unseen))
    return notes


# The generator's labels as the corpus format's classes.
CORPUS_CLASS = {"NAME": "NAME_PATIENT", "ID": "ID_OTHER", "LOCATION": "CITY",
                "FACILITY": "INSTITUTION", "AGE": "AGE_OVER_89"}  # fmt: skip


def write_generated_corpus(directory: Path, count: int = 600, seed: int = 20240611) -> int:
    """Writes the generated set as a labelled corpus (docs/ + labels/) for evaluate-notes."""
    (directory / "docs").mkdir(parents=True, exist_ok=True)
    (directory / "labels").mkdir(parents=True, exist_ok=True)
    notes = generate_notes(count, seed)
    for number, note in enumerate(notes, start=1):
        name = f"{number:04d}.json"
        report = {"report_id": f"GEN-{number:05d}", "encounter_date": "2024-06-11",
                  "patient": {"patient_id": f"GENPATIENT{number:05d}", "name": "Generated Person"},
                  "notes": note.text}  # fmt: skip
        spans = [{"pointer": "/notes", "start": start, "end": end, "text": note.text[start:end],
                  "class": CORPUS_CLASS.get(label, label), "where": "free"}
                 for start, end, label in note.spans]  # fmt: skip
        labels = {"document": f"docs/{name}", "format": "case_report",
                  "media_type": "application/json",
                  "style": "unseen_names" if note.unseen_names else "lexicon_names",
                  "spans": spans}  # fmt: skip
        (directory / "docs" / name).write_text(json.dumps(report, ensure_ascii=False), "utf-8")
        (directory / "labels" / name).write_text(json.dumps(labels, ensure_ascii=False), "utf-8")
    return len(notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.phi_notes",
        description="Write the generated labelled notes as a corpus directory.",
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args(argv)
    written = write_generated_corpus(args.directory, args.count, args.seed)
    print(f"wrote {written} notes to {args.directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
