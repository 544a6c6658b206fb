"""Templates of dev2, by style: each style a list of sections, each section alternatives.

Slots: {P} patient, {C0}-{C3} clinicians in varied renderings, {CF*} full name, {CL*}
surname, {R0}/{R1} relatives, {RG*} a relative's given name, {REL} a relation word
(not PHI), {A} an age over 89 in one of many shapes, {AN} the bare number or word,
{AY} an age under 90 (trap), {I}/{I2} institutions, {W} a ward, {D} a date, {PH} a
phone, {MRN}; traps {EP} eponym, {ORG} organism, {LAB} lab value, {DRUG}, {VIT} vital.
"""

DISCHARGE = [
    [
        "DISCHARGE SUMMARY\nPatient: {P}   MRN {MRN}\nAdmitted to {W}, {I} on {D}.",
        "Discharge summary for {P}, a {A} woman admitted via ED to {W}.",
        "{I} - Department of Medicine for Older People\nDischarge letter: {P} ({A})",
    ],
    [
        "Consultant: {C0}\nResponsible clinician: Dr {CL1}",
        "Admitting team: Dr {CL0} (consultant), {C1} (registrar).",
        "Under the care of {CF0}, {CRED}, Consultant Geriatrician.",
    ],
    [
        "History: {A} with {EP} and AF on {DRUG}, admitted after a fall at {I2}. {LAB}, {LAB}.",
        "Presenting complaint: confusion. She is {AN} and lives alone; "
        "her {REL} {R0} visits daily. "
        "{LAB} on admission; urine grew {ORG}.",
        "This {A} gentleman was found on the floor by his {REL}, {R0}. Background {EP}. {VIT}.",
    ],
    [
        "Course: treated for {ORG} bacteraemia; reviewed by the orthogeriatric team (Dr {CL2}). "
        "Seen by {C3} from cardiology, who advised {DRUG}.",
        "Microbiology ({C2}) advised switching to {DRUG}. Physio input from {C3}. {LAB}.",
        "Discussed with {C2} (on-call renal registrar). Palliative care seen by {C3} on {D}.",
    ],
    [
        "Discharged to {I2} with carers QDS. Follow up in {I} clinic in 6 weeks.\n"
        "Next of kin: {R0} ({REL}) {PH}.",
        "Discharge destination: {I2}. Daughter {R1} informed by phone.",
        "Going home with her {REL} {R1}; district nurses from {I2} to visit.",
    ],
    [
        "Dictated by: {C1}\nTyped: {D}\ncc: GP Dr {CL3}, {I2}",
        "Signed: {CF0}, {CRED}\n{ROLE}\ncc: {C3}; {R0} ({REL})",
        "Electronically signed by {C0} on {D}.\ncc: Dr. {CL2}",
    ],
]
PATHOLOGY = [
    [
        "SURGICAL PATHOLOGY REPORT\nPatient: {P}  Age: {AN}  Accession: S{MRN}\n"
        "Received {D} from {I}.",
        "Histopathology - {I}\nName: {P}\nAge/Sex: {A}\nRequesting clinician: {C0}",
        "Specimen received from {W}, {I}. Clinician: Dr {CL0}.",
    ],
    [
        "Clinical details: {A}, ?{EP}. Prev {ORG} colitis.",
        "Clinical: weight loss, {LAB}. Known {EP}.",
        "Clinical history: {A} with a breast lump; on {DRUG}.",
    ],
    [
        "Macroscopy: grossed by {C1}. Three cores, longest 14 mm.",
        "Gross description dictated by {C1} (pathology assistant).",
        "Macro: received in formalin, described by {C1} in two cassettes.",
    ],
    [
        "Microscopy: invasive carcinoma, no special type; {EP} not identified. "
        "Reviewed with {C2} at the departmental consensus meeting.",
        "Microscopy: granulomas; ZN stain negative for {ORG}. Second opinion from {C2}, {I2}.",
        "Microscopy shows {EP}. Discussed with Dr {CL2}, who agrees.",
    ],
    [
        "Reported by: {CF3}, {CRED}\nConsultant Histopathologist\nAuthorised {D}",
        "Pathologist: {C3}\nVerified by: Dr {CL2}",
        "Report authorised by {C3} {D}. Copy to {C0}.",
    ],
]
RADIOLOGY = [
    [
        "CT HEAD WITHOUT CONTRAST\nPatient: {P}  ({A})\nReferrer: {C0}, {I}",
        "MRI lumbar spine - {I}\nIndication: {A}, back pain, ?{EP}.",
        "CXR PA - {W}, {I}\nClinical: {A} with cough; {ORG} on sputum.",
    ],
    [
        "Technique: axial images. Comparison {D} at {I2}.",
        "Findings: chronic small vessel change. No haemorrhage. {VIT} noted on the request.",
        "Findings: right lower lobe consolidation, small effusion. {LAB}.",
    ],
    [
        "Impression: no acute intracranial abnormality. Discussed with {C1} by phone at 14:20.",
        "Impression: features of {EP}. Result phoned to Dr {CL1} on {W}.",
        "Conclusion: consistent with infection. Findings discussed with {C1}, {CRED}.",
    ],
    [
        "Reported by {C2}, {ROLE}.\nDictated by {C3}; transcribed {D}.",
        "{CF2}, {CRED}\nConsultant Radiologist",
        "Electronically signed: {C2} {D}. Verified by {C3}.",
    ],
]
NURSING = [
    [
        "Nursing note {D} 07:30 - {W}.\n{P} ({A}) settled overnight.",
        "Nursing handover, {W} bay 3: {P}, {AN} years old, {EP}.",
        "Shift note: patient is {A}; {VIT}; on {DRUG}.",
    ],
    [
        "Visited by {REL} {R0} this morning, who asked for an update from the doctors. "
        "Her {REL} {R1} will bring clothes.",
        "{RG0} ({REL}) rang at 10:00 asking about discharge plans; number on file {PH}.",
        "Family: {REL} {R0} present, tearful. {R1} (NOK) updated by phone.",
    ],
    [
        "Seen by {C0} on the ward round; plan for {DRUG}. {LAB} rechecked.",
        "Reviewed by {C0} (FY2). Bloods taken: {LAB}, {LAB}.",
        "Dr {CL0} reviewed at 16:00. Falls referral to {C1}.",
    ],
    ["{CF3}, RN", "Signed: {C3} (staff nurse) {D}", "{CF3}\nCharge Nurse, {W}"],
]
REFERRAL = [
    [
        "{I}\nDepartment of Cardiology\n\nDear Dr {CL0},\n\nRe: {P}, DOB {D}",
        "Dear {C0},\n\nThank you for seeing {P}, a {A} woman from {I2}.",
        "To: {C0}, {I}\nFrom: {C1}, {I2}\nRe: {P}",
    ],
    [
        "I would be grateful if you could see this {A} lady with {EP}, {LAB}.",
        "She is {AN} and still lives independently with her {REL}, {R0}.",
        "This {A} man has been under the care of Dr {CL2} at {I2} for {EP}.",
    ],
    [
        "Her {REL} {R0} is keen for her to be seen at {I} rather than {I2}.",
        "Cultures grew {ORG}; she completed {DRUG}. Her {REL} {R1} can be reached on {PH}.",
        "Previously seen by {C2} in the {I2} falls clinic. {LAB}.",
    ],
    [
        "Yours sincerely,\n\n{CF1}\n{ROLE}\n\ncc: {C3}, {I2}\ncc: {P}",
        "Kind regards,\n{CF1}, {CRED}\nc.c. Dr {CL3}; {REL} {R0}",
        "With best wishes\n\nDr {CF1}\nGP Partner, {I2}\nCopy: {C3}",
    ],
]
CONSULT = [
    [
        "GERIATRICS CONSULT NOTE\nRequested by: {C0}\nReason: {A} with delirium.",
        "Consult: palliative care. Patient {P}, {A}. Requesting physician Dr {CL0}.",
        "Infectious diseases consult for {P} ({A}), {W}. Asked by {C0}.",
    ],
    [
        "HPI: {AY} son reports decline; she is now {AN}. Daughter {R0} is HCPOA. {EP}.",
        "Growing {ORG}; {LAB}. Seen with {REL} {R0} at bedside.",
        "Lives at {I2}. {REL} {R1} visits weekly. On {DRUG}.",
    ],
    [
        "Attending: {C2}\nFellow: {C3}\nDiscussed with primary team ({C1}).",
        "Patient seen and examined with Dr {CL2}, attending. Plan discussed with {C1}.",
        "Staffed with {C2}. Recommendations communicated to {C1} by page.",
    ],
]
STYLES = {
    "discharge_summary": DISCHARGE,
    "pathology_report": PATHOLOGY,
    "radiology_report": RADIOLOGY,
    "nursing_note": NURSING,
    "referral_letter": REFERRAL,
    "consult_note": CONSULT,
}
