"""Third wording of dev2 (documents 271-330), with institutions from a pool of its own.

Written after tuning on the first two wordings and scored once before tuning on it.
Slots as in `styles.py`; {IC} draws from `pools.INSTITUTIONS_C`, {AC} an age in shapes
the other wordings do not use.
"""

ED = [
    [
        "ED NOTE\nPt is a {AC} presenting from {IC} with a fall.",
        "Emergency department - {I}. {P}, {AC}, BIBA from {IC}.",
        "Triage: {AC}, found down at {IC}; {VIT}.",
    ],
    [
        "ED course: seen by {C0} (ED attending); case d/w {C1} (on-call gen surg). {LAB}.",
        "{C0} and I saw the patient together. Rounded with {C1}. {EP}.",
        "Covering physician {C1} notified. Message left for {C2}. {ORG} on blood cultures.",
    ],
    [
        "Family at bedside (son {RG0}, daughter {RG1}). Pt's dtr {R0} is HCP.",
        "Spoke to pt's son {R0} by phone. NOK - {R1} ({REL}).",
        "Her HCP ({R0}, {REL}) agrees with the plan. Husband: {R1}.",
    ],
    [
        "Signed electronically by: {C2}, {CRED} | {D}",
        "Scribe: {C3}. I, {CF2}, attest that I performed the history and exam.",
        "Electronically co-signed by {C2} on {D}.",
    ],
]
CLINIC = [
    [
        "Provider: {C0}\nPrimary care: Dr. {CL1} at {IC}\nReferred by {C2}",
        "Thank you for referring this {AC}, {C0}. She attends {IC}.",
        "Clinic letter, {I}. Seen today with her {REL} {R0}.",
    ],
    [
        "She celebrated her {AN}th birthday last month; {EP}; on {DRUG}.",
        "Age {AN}. {LAB}, {LAB}. Known {EP}.",
        "This {AC} lives at {IC} and uses a frame; {VIT}.",
    ],
    [
        "Approved: {C3} | Consultant Physician\ncc {C1}; {IC}",
        "Best,\n{CF3}\n{ROLE}, {I}",
        "Dictated but not read. {C3} / {D}",
    ],
]
PATH_C = [
    [
        "CYTOLOGY - {IC}\nPt: {P} ({AC})\nSubmitting physician: {C0}",
        "Frozen section called to theatre ({C0}) by {C1} at 11:02.",
        "Specimen from {IC}; clinician {C0}.",
    ],
    [
        "Dx: {EP}. Special stains negative for {ORG}. Intradepartmental consult: {C2}.",
        "Consensus with {C2} and {C3}. {ORG} identified.",
        "Slides shown to {C2} who agrees. Features of {EP}.",
    ],
    [
        "Pathologist: {C3}, MD | Resident: {C1}",
        "Electronically verified: {C3} {D}",
        "{CF3}\nConsultant Pathologist, {IC}",
    ],
]
STYLES_C = {"ed_note": ED, "clinic_letter": CLINIC, "cytology": PATH_C}
