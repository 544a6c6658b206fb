"""Second wording of dev2 (documents 181-270): other phrasings of the same weak classes.

Written after the detector had been tuned on `styles.py`, and scored once before any
tuning on it, so that its first score says how the rules carry to wordings they were
not written for. Slots as in `styles.py`.
"""

OPERATIVE = [
    [
        "OPERATION NOTE - {I}\nPatient: {P}, {A}\nOperating surgeon: {C0}\n"
        "Assistant: {C1}\nAnaesthetist: {C2}",
        "Operative note. Surgeon - Mr {CL0}; assist {C1}. Anaesthetic by Dr. {CL2}.",
        "Procedure performed at {I} ({W}) by {C0}, assisted by {C1}.",
    ],
    [
        "Indication: {A} with {EP}; {LAB}, {LAB}.",
        "Pre-op: aged {AN}, frail; {EP}; on {DRUG}.",
        "Findings: perforated viscus, {ORG} on swab. {VIT}.",
    ],
    [
        "Post-op: back to {W}. Handed over to {C3} at 20:00.",
        "Plan: {C3} will follow up in clinic. Results to be chased by {C1}.",
        "Son {R0} updated after surgery by {C0}.",
    ],
]
MDT = [
    [
        "MDT OUTCOME {D}\nChair: {C0}\nPresent: {C1}, {C2}, {C3}",
        "Case discussed at the {I} MDT (chair: {C0}).",
        "Multidisciplinary meeting, {I}. Presented by {C1}.",
    ],
    [
        "{P}, {A}, {EP}. Histology reviewed by {C2}: {ORG} not seen.",
        "Patient {P} (F, {AN}) - imaging reviewed with {C2} and concur.",
        "Background: a woman in her 90s ({AN}) from {I2} with {EP}.",
    ],
    [
        "Outcome: best supportive care; {C3} to discuss with the family ({REL} {R0}).",
        "Outcome: refer to {I2}. Letter to GP ({C3}, {I2}).",
        "Actions: {C1} to call {R0} ({REL}) on {PH}.",
    ],
]
TELEPHONE = [
    [
        "Telephone encounter {D}. Caller: {R0} ({REL}).",
        "Phone call from {REL}, {R0}, re: mum ({A}).",
        "T/C with {R0} - {REL} and next of kin.",
    ],
    [
        "Reports her mother, now {AN}, is more confused; {LAB} last week at {I2}.",
        "Concern: {A} father fell at {I2} last night; {VIT}.",
        "She states the patient turned {AN} in March and stopped {DRUG}.",
    ],
    [
        "Advice given. Rv'd w/ {C1}. Note written by {C3} on behalf of Dr {CL0}.",
        "Discussed with {C1}, who will review tomorrow.\n- {CF3}, Advanced Nurse Practitioner",
        "Per {C1}'s recommendation, increase {DRUG}. Thanks, {CF3}",
    ],
]
TRANSFER = [
    [
        "TRANSFER NOTE\nFrom: {W}, {I}\nTo: {I2}\nAccepting physician: {C0}",
        "Spoke with {C0} from {I2}, who accepted the transfer.",
        "Inter-hospital transfer {I} to {I2}. Accepted by {C0}.",
    ],
    [
        "{P} is a {A} woman with {EP}; grew {ORG}. {LAB}.",
        "Nonagenarian ({AN}) with {EP}, on {DRUG}.",
        "{A} lady, lives at {I2}; HCP is her {REL} {R0}.",
    ],
    [
        "Attending physician of record: {C1}\nAuthor: {C2} (Nurse Practitioner)",
        "Sign-off: {CF2} MBBS MRCP\nCopy: {C3}",
        "Contact {C2} or {C3} with questions. {R0} ({REL}) aware.",
    ],
]
FHIR_NARRATIVE = [
    [
        "Encounter summary for {P} ({A}) at {I}.",
        "Inpatient stay, {W}, {I}: {P}, {AN} years.",
        "Admission to {I} for {EP}; patient {A}.",
    ],
    [
        "Family: {REL} {R0} and {REL} {R1} visit. Micro: {ORG}. {LAB}.",
        "Collateral from her {REL} ({RG0}). {LAB}; {VIT}.",
        "{R0}, her {REL}, is the main carer. {LAB}.",
    ],
    [
        "Clinician: {C0}. Reviewed by {C1}.",
        "Care team: {C0} (attending), {C1} (resident), {C2} (RN).",
        "Results reviewed and signed by {C2}.",
    ],
]
STYLES_B = {
    "operative_note": OPERATIVE,
    "mdt_outcome": MDT,
    "telephone_encounter": TELEPHONE,
    "transfer_note": TRANSFER,
    "encounter_summary": FHIR_NARRATIVE,
}
