"""Fourth wording of dev2 (documents 331-380), scored once before tuning on it.

Shorthand and signature habits of real notes: lowercase titles, "/s/", role after a
comma, initials, ward and bay shorthand; slots as in `styles.py` and `styles_c.py`.
"""

PROGRESS = [
    [
        "Progress note, {W} bay 4. pt {AC}, {EP}.",
        "Day 3 on {W}. {P} ({AC}) comfortable overnight.",
        "Ward round {D}: {AC} with {EP}, on {DRUG}.",
    ],
    [
        "d/w dr {CL0} re {DRUG}; plan per dr. {CL1}. {LAB}.",
        "Reviewed on WR by {C0}, consultant geriatrician. {LAB}; {VIT}.",
        "ST3 {C1} to chase {ORG} sensitivities; SHO {C2} aware.",
    ],
    [
        "Son ({RG0}) visiting pm; daughter-in-law {R1} rang ward.",
        "NOK: {R0} ({REL}), lives locally.",
        "Family (wife {RG0}) updated at bedside by {C3}.",
    ],
    [
        "/s/ {CF3}, FY1",
        "{CF3}, Consultant Geriatrician",
        "e-signed {C3} {D}",
    ],
]
LETTER_D = [
    [
        "Dear Dr {CL0},\nRe: {P}, {AC}, of {IC}",
        "FAO: {C0}, {I}\nRe: {P}",
        "To whom it may concern - {P} ({AC}) is known to {IC}.",
    ],
    [
        "I reviewed this {AC} in the {IC} clinic with my colleague {C1}.",
        "She remains under {C1} at {I2} for her {EP}; {LAB}.",
        "Her {REL}, {R0}, attended with her; {ORG} was treated with {DRUG}.",
    ],
    [
        "Yours,\n{CF2}\nStaff Grade, {IC}\ncc. {C3}",
        "{CF2}, Specialty Doctor\ncc: {C3} (GP), {IC}",
        "Dr {CF2} MBChB\nLocum Consultant",
    ],
]
STYLES_D = {"progress_note": PROGRESS, "letter_short": LETTER_D}
