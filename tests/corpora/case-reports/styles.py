# ruff: noqa: E501  (template and data tables read best one entry a line)
"""Document styles for build.py, in a small markup.

  [[CLASS:key]]   PHI of CLASS, its text from the document's context (`key`); CLASS AGE
                  becomes AGE_OVER_89 when the patient is over 89, else the trap TRAP_AGE
  {{KIND:pool}}   a trap of class TRAP_KIND drawn from a pool in pools.py
  {{KIND=text}}   a trap with this literal text
  <<name>>        a sentence drawn from SENTENCES[name]
  ((a|b|c))       plain text, one of the choices
  §               a section break (JSON: a blank line in `notes`; FHIR: the next field)

Each style has variants; the development set uses the last one, the evaluation set the
others, so the frozen set holds wordings a detector tuned on dev has not seen.
"""

from __future__ import annotations

SENTENCES: dict[str, list[str]] = {
    "clinical": [
        "Known {{EPONYM:eponym}}, on {{DRUG:drug}} {{DOSE:dose}}.",
        "Blood cultures grew {{ORGANISM:organism}} ((sensitive to|resistant to)) {{DRUG:drug}}.",
        "Labs: {{LAB:lab}}, {{LAB:lab}}, {{LAB:lab}}.",
        "Vitals {{VITAL:vital}}, {{VITAL:vital}}, {{VITAL:vital}}.",
        "Tumour sequencing showed {{GENE:gene}}; {{GENE:gene}} wild type.",
        "Symptoms {{DURATION:duration}}, worse {{TIME:time}}.",
        "{{SCALE:scale}} on arrival; {{SCALE:scale}} at review.",
        "History of {{EPONYM:eponym}} {{YEAR:year}}, quiescent.",
        "Urine grew {{ORGANISM:organism}} >10^5 CFU/mL; started {{DRUG:drug}} {{DOSE:dose}}.",
        "Coded as {{CODE:code}}; differential includes {{EPONYM:eponym}}.",
        "Family history of {{EPONYM:eponym}} in the maternal line; {{GENE:gene}} testing offered.",
        "Seen with her {{AGE_YOUNG:age_young}}-year-old ((son|daughter)), who is well.",
        "She had a {{EPONYM:eponym}} workup {{YEAR:year}} which was negative.",
        "Repeat {{LAB:lab}} {{DURATION:duration}} after starting {{DRUG:drug}}.",
        "Wound swab: {{ORGANISM:organism}} and {{ORGANISM:organism}}, light growth.",
        "Previously lived in {{PLACE:place}}; no travel since.",
        "Given {{DRUG:drug}} {{DOSE:dose}} {{TIME:time}}, then {{DRUG:drug}}.",
        "Identifiers in this summary follow the {{METHOD:method}} rules of the sending site.",
        "{{EPONYM:eponym}} was excluded; {{LAB:lab}} normalised.",
    ],
    "family": [
        "Accompanied by her ((daughter|son|husband|wife|sister|brother)) [[NAME_RELATIVE:rel_same]].",
        "Lives with ((partner|spouse)) [[NAME_RELATIVE:rel_other]] and a dog.",
        "((Neighbour|Neighbor)) [[NAME_RELATIVE:rel_same]] found the patient on the floor.",
        "Next of kin: [[NAME_RELATIVE:rel_same]] (((son|daughter|niece))), tel [[PHONE:phone]].",
        "Collateral history from [[NAME_RELATIVE:rel_first]], the patient's ((granddaughter|grandson)).",
        "Mother [[NAME_RELATIVE:rel_other]] died of {{EPONYM:eponym}} aged {{AGE_YOUNG:age_young}}.",
        "Her brother [[NAME_RELATIVE:rel_first_lower]] will collect her.",
        "Emergency contact [[NAME_RELATIVE:rel_initials]] [[NAME_RELATIVE:rel_last]], mobile [[PHONE:phone_intl]].",
    ],
    "contact": [
        "Call back on [[PHONE:phone]] ((ext.|x|extension)) [[PHONE:ext]].",
        "Daughter's number [[PHONE:phone_intl]]; landline [[PHONE:phone_national]].",
        "Fax results to [[FAX:fax]] ((attn.|for)) [[NAME_CLINICIAN:clin]].",
        "Left a message on the number ending [[PHONE:phone_partial]].",
        "Patient e-mail [[EMAIL:email]] (prefers e-mail to post).",
        "Pager [[PHONE:pager]] for the on-call registrar.",
        "Portal link [[URL:url]] sent; login from [[IP:ip]] flagged.",
        "Home: [[ADDRESS:street]], [[CITY:city]] [[ZIP:zip]].",
        "Moved to [[ADDRESS:rural]], [[CITY:city]] [[ZIP:zip]] last month.",
        "Temporary address c/o [[ADDRESS:street]], [[CITY:city]], [[ZIP:postcode]].",
    ],
    "ids": [
        "Case: [[ID_OTHER:case_no]].",
        "Accession # [[ID_OTHER:accession]].",
        "Medicare MBI [[HEALTH_PLAN:mbi]]; secondary member ID [[HEALTH_PLAN:hplan]].",
        "Billing acct [[ACCOUNT:acct]].",
        "Driver licence [[LICENSE:dl]] checked at registration.",
        "Car towed, tow ticket [[ID_OTHER:tow]], plate [[VEHICLE:plate]].",
        "Vehicle VIN [[VEHICLE:vin]] recorded by police (report [[ID_OTHER:police]]).",
        "Pacemaker serial [[DEVICE:serial]], interrogated today.",
        "Insulin pump SN: [[DEVICE:serial]].",
        "Unit No. [[MRN:unit_no]]; old hospital number [[MRN:mrn]].",
        "SSN on file [[SSN:ssn]].",
        "Last four of SSN [[SSN:ssn4]] confirmed by phone.",
        "Prescriber DEA [[LICENSE:dea]].",
    ],
}

# Each style: (name, fhir placement, variants).
STYLES: list[tuple[str, str, list[str]]] = [
    ("discharge_summary", "encounter", [
        "DISCHARGE SUMMARY\nPatient: [[NAME_PATIENT:name_last_first]]   MRN: [[MRN:mrn]]   DOB: [[DATE:dob]]\n"
        "Admitted: [[DATE:enc]]   Discharged: [[DATE:date]]\nAttending: [[NAME_CLINICIAN:clin]]\n"
        "§[[NAME_PATIENT:name_formal]] is a [[AGE:age_adj]] ((woman|man|patient)) admitted to [[INSTITUTION:inst]] with ((sepsis|a fall|dyspnoea|confusion)). "
        "<<clinical>> <<clinical>> <<family>>\n"
        "§Follow-up with [[NAME_CLINICIAN:clin_b]] at [[INSTITUTION:inst2]] on [[DATE:date_short]]. <<contact>> <<ids>> <<clinical>>",
        "Discharge summary - [[INSTITUTION:inst]]\n[[NAME_PATIENT:name]] ([[MRN:mrn]]), seen by dr [[NAME_CLINICIAN:clin_lower]].\n"
        "§Course: <<clinical>> <<clinical>> Pt is [[AGE:age_bare]] and ((lives alone|lives with family)). <<family>>\n"
        "§Plan: <<clinical>> Review [[DATE:date]]. <<contact>> <<ids>>",
        "D/C SUMMARY [[DATE:enc]] - [[NAME_PATIENT:name_upper]] - [[MRN:mrn]]\n§[[AGE:age_adj]] admitted under [[NAME_CLINICIAN:clin]]. <<clinical>> <<family>> <<clinical>>\n"
        "§GP to check {{LAB:lab}} on [[DATE:date_short]]. <<contact>>",
    ]),
    ("radiology_report", "report", [
        "RADIOLOGY REPORT\nAccession: [[ID_OTHER:accession]]   Exam date: [[DATE:enc]]\nPatient: [[NAME_PATIENT:name]]  DOB [[DATE:dob]]\n"
        "Referring: [[NAME_CLINICIAN:clin]]\n§CT chest with contrast. Clinical: [[AGE:age_adj]] with {{EPONYM:eponym}}. "
        "Comparison: prior study [[DATE:date]] at [[INSTITUTION:inst2]]. <<clinical>>\n"
        "§IMPRESSION: ((No pulmonary embolism.|Right lower lobe consolidation.|Stable 6 mm nodule.)) "
        "Discussed with [[NAME_CLINICIAN:clin_b]] by phone [[PHONE:phone]] {{TIME:time}} on [[DATE:date_short]]. Read by [[NAME_CLINICIAN:clin_c]].",
        "XR ABDOMEN [[DATE:enc]]. Acc [[ID_OTHER:accession]]. For [[NAME_PATIENT:name_initial_last]], [[AGE:age_bare]] yrs.\n"
        "§Findings: <<clinical>> Device: [[DEVICE:serial]].\n§Conclusion: <<clinical>> Reported by [[NAME_CLINICIAN:clin_lower]], [[INSTITUTION:inst]].",
        "MRI BRAIN - [[NAME_PATIENT:name_last_first]] - MRN [[MRN:mrn]]\nDate of exam [[DATE:enc]]\n§Indication: <<clinical>>\n"
        "§Impression: <<clinical>> Results faxed to [[FAX:fax]] for [[NAME_CLINICIAN:clin]].",
    ]),
    ("pathology_gross", "report", [
        "SURGICAL PATHOLOGY  Case: [[ID_OTHER:case_no]]\nPatient: [[NAME_PATIENT:name_last_first]]  MRN [[MRN:mrn]]  Collected [[DATE:enc]]\n"
        "§GROSS DESCRIPTION: Received fresh labelled with the patient's name \"[[NAME_PATIENT:name_upper]]\" and \"((right breast|sigmoid colon|left kidney))\". "
        "Grossed by [[NAME_CLINICIAN:clin_lower]] {{TIME:time}}. Margins inked. <<clinical>>\n"
        "§DIAGNOSIS: ((invasive ductal carcinoma|adenocarcinoma|{{EPONYM=Hodgkin lymphoma}})). {{GENE:gene}} testing sent. Signed out [[DATE:date]] by [[NAME_CLINICIAN:clin]].",
        "Pathology [[ID_OTHER:case_no]] / [[DATE:enc]]\n§Gross: specimen in formalin labelled [[NAME_PATIENT:name_initials]] [[NAME_PATIENT:last]], [[MRN:mrn]]. <<clinical>>\n"
        "§Microscopy: <<clinical>> Dictated by [[NAME_CLINICIAN:clin]], transcribed by [[NAME_CLINICIAN:clin_lower]].",
        "PATH REPORT acc. [[ID_OTHER:accession]]\n§Gross: <<clinical>> Cassette key per [[NAME_CLINICIAN:clin_b]].\n§Final: <<clinical>> Copy to [[INSTITUTION:inst]].",
    ]),
    ("ed_triage", "encounter", [
        "ED TRIAGE [[DATE:enc]] {{TIME:time}}\n[[NAME_PATIENT:name]], [[AGE:age_adj]], arrived by ambulance from [[ADDRESS:street]], [[CITY:city]].\n"
        "§Complaint: ((chest pain|fall|shortness of breath|headache)) {{DURATION:duration}}. {{VITAL:vital}}, {{VITAL:vital}}. {{SCALE:scale}}. "
        "<<family>> <<ids>>\n§Triage RN [[NAME_CLINICIAN:clin_initials]]. Seen by [[NAME_CLINICIAN:clin]]. <<contact>>",
        "Triage note - pt [[NAME_PATIENT:name_lower]] states she is [[AGE:age_bare]]. Brought in by [[NAME_RELATIVE:rel_same]].\n"
        "§<<clinical>> <<ids>> <<ids>>\n§Allergies: nil. <<contact>> Triaged [[DATE:date_short]].",
        "EMERGENCY TRIAGE\nName: [[NAME_PATIENT:name_last_first]]  DOB: [[DATE:dob]]\n§<<clinical>> <<family>>\n§<<ids>> RN: [[NAME_CLINICIAN:clin_lower]]",
    ]),
    ("nursing_note", "encounter", [
        "Nursing note [[DATE:enc]] night shift.\n§[[NAME_PATIENT:first]] settled, {{VITAL:vital}}. Daughter [[NAME_RELATIVE:rel_same]] phoned {{TIME:time}} "
        "from [[PHONE:phone_intl]], updated. <<clinical>> Handover to [[NAME_CLINICIAN:clin_first_only]] (RN).\n§<<family>> <<contact>>",
        "RN note: Mr/Ms [[NAME_PATIENT:last]] in bed 4, [[AGE:age_adj]]. <<clinical>>\n§Wife [[NAME_RELATIVE:rel_first]] visited; asked that [[NAME_CLINICIAN:clin]] call [[PHONE:phone]]. "
        "<<ids>>\n§Signed [[NAME_CLINICIAN:clin_lower]] [[DATE:date_short]].",
        "Nursing progress [[DATE:enc]]: [[NAME_PATIENT:name]] pain {{SCALE=pain 4/10}}. <<clinical>>\n§<<family>> <<contact>>",
    ]),
    ("referral_letter", "encounter", [
        "[[INSTITUTION:inst]]\n[[ADDRESS:street]]\n[[CITY:city]] [[ZIP:zip]]\nTel [[PHONE:phone]]  Fax [[FAX:fax]]\n[[DATE:date]]\n"
        "§Dear [[NAME_CLINICIAN:clin]],\nRe: [[NAME_PATIENT:name]], DOB [[DATE:dob]], NHS/MRN [[MRN:mrn]]\n"
        "Thank you for seeing this [[AGE:age_adj]] with {{EPONYM:eponym}}. <<clinical>> <<family>>\n"
        "§Yours sincerely,\n[[NAME_CLINICIAN:clin_b]]\n[[EMAIL:email_clin]]",
        "Referral to [[INSTITUTION:inst2]] - [[DATE:date]]\n§Dear Dr [[NAME_CLINICIAN:clin_last]], I would be grateful if you could see [[NAME_PATIENT:name_formal]] "
        "([[AGE:age_bare]]) regarding <<clinical>> Address [[ADDRESS:street]], [[CITY:city]] [[ZIP:postcode]]. <<contact>>\n§Kind regards, [[NAME_CLINICIAN:clin]]",
        "Re: [[NAME_PATIENT:name_upper]] [[DATE:dob]]\n§Dear colleague, <<clinical>> <<family>>\n§[[NAME_CLINICIAN:clin]], [[INSTITUTION:inst]]. <<contact>>",
    ]),
    ("telephone_encounter", "encounter", [
        "TELEPHONE ENCOUNTER [[DATE:enc]] {{TIME:time}}\nCaller: [[NAME_RELATIVE:rel_same]] (((daughter|son|spouse))) re: [[NAME_PATIENT:name]]\n"
        "§Caller reports <<clinical>> Advised to attend. Call back number [[PHONE:phone]] or [[PHONE:phone_intl]]. <<ids>>\n§Taken by [[NAME_CLINICIAN:clin_lower]].",
        "Phone call - pt [[NAME_PATIENT:first_lower]] rang from [[PHONE:phone_national]]; wants results. <<clinical>>\n§Identity checked: DOB [[DATE:dob]], postcode [[ZIP:postcode]]. <<ids>>\n§[[NAME_CLINICIAN:clin_initials]]",
        "Tel enc [[DATE:date_short]]: [[NAME_PATIENT:name]] ok. <<contact>>\n§<<clinical>>",
    ]),
    ("social_work", "encounter", [
        "SOCIAL WORK ASSESSMENT [[DATE:enc]]\n§[[NAME_PATIENT:name]] is a [[AGE:age_adj]] ((widow|widower|retired teacher|veteran)) living at [[ADDRESS:street]], [[CITY:city]] [[ZIP:zip]]. "
        "<<family>> <<family>> Income: pension; bank acct [[ACCOUNT:acct]]. <<ids>>\n"
        "§Plan: referral to Meals on Wheels; [[NAME_CLINICIAN:clin]] (SW) to visit [[DATE:date_short]]. <<contact>>",
        "SW note. Met pt and [[NAME_RELATIVE:rel_same]]. <<family>> Pt's car (plate [[VEHICLE:plate]]) was towed; tow ticket [[ID_OTHER:tow]]. <<clinical>>\n"
        "§Housing: [[ADDRESS:rural]], [[CITY:city]]. <<contact>>\n§[[NAME_CLINICIAN:clin_lower]], MSW",
        "Social work follow-up [[DATE:date]]: <<family>> <<ids>>\n§<<contact>>",
    ]),
    ("journal_case_report", "encounter", [
        "Case presentation\n§A [[AGE:age_adj]] ((woman|man)) from [[CITY:city]] presented to [[INSTITUTION:inst]] in [[DATE:month_year]] with <<clinical>> "
        "She had been followed by [[NAME_CLINICIAN:clin]] {{YEAR:year}}. <<clinical>> <<clinical>>\n"
        "§Consent was obtained from the patient's ((daughter|son)), [[NAME_RELATIVE:rel_same]]. Identifiers were removed following the {{METHOD:method}} guidance, "
        "except where noted. Correspondence: [[NAME_CLINICIAN:clin_b]], [[EMAIL:email_clin]].",
        "CASE REPORT. Patient [[NAME_PATIENT:name_initials]], [[AGE:age_bare]] years. <<clinical>>\n§On day 3 ([[DATE:date_short]]) <<clinical>> <<clinical>>\n"
        "§Acknowledgements: [[NAME_CLINICIAN:clin]] and [[NAME_CLINICIAN:clin_b]] ([[INSTITUTION:inst]]).",
        "Case report: {{EPONYM:eponym}} in a [[AGE:age_adj]]\n§<<clinical>> <<clinical>>\n§[[NAME_CLINICIAN:clin]], [[INSTITUTION:inst]], [[URL:url]]",
    ]),
    ("lab_comment", "report", [
        "LAB COMMENT [[DATE:enc]] Specimen [[ID_OTHER:accession]]\nPatient [[NAME_PATIENT:name_last_first]] MRN [[MRN:mrn]]\n"
        "§{{LAB:lab}} critical; phoned to [[NAME_CLINICIAN:clin_lower]] {{TIME:time}} on ext [[PHONE:ext]]. <<clinical>>\n§Verified by [[NAME_CLINICIAN:clin]].",
        "Micro: <<clinical>> Isolate {{ORGANISM:organism}}. Sample from [[INSTITUTION:inst]] ward, collected [[DATE:date_short]].\n§Comment: <<clinical>> Result relayed to [[NAME_CLINICIAN:clin_initials]].",
        "Haematology comment [[DATE:enc]]: <<clinical>>\n§Film reviewed by [[NAME_CLINICIAN:clin]]. <<clinical>>",
    ]),
    ("consult_note", "encounter", [
        "CONSULT NOTE - ((Cardiology|Neurology|Endocrinology|Infectious Diseases))\nDate: [[DATE:enc]]  Requested by [[NAME_CLINICIAN:clin]]\n"
        "§Asked to see [[NAME_PATIENT:name_formal]], [[AGE:age_adj]], for <<clinical>> <<clinical>> <<family>>\n"
        "§Recommendations: <<clinical>> Will follow. [[NAME_CLINICIAN:clin_b]], pager [[PHONE:pager]].",
        "Consult: [[NAME_PATIENT:name]] [[MRN:mrn]]. <<clinical>> Discussed with [[NAME_CLINICIAN:clin_lower]] and family ([[NAME_RELATIVE:rel_same]]).\n§<<clinical>> <<ids>>\n§<<contact>>",
        "ID consult [[DATE:date]]: <<clinical>> <<clinical>>\n§[[NAME_CLINICIAN:clin]]",
    ]),
    ("portal_message", "encounter", [
        "PATIENT PORTAL MESSAGE received [[DATE:enc]] from [[NAME_PATIENT:name]]\n§\"<<presidio>> <<presidio>>\"\n"
        "§Reply by [[NAME_CLINICIAN:clin]] (RN): forwarded to Dr [[NAME_CLINICIAN:clin_last]]. <<clinical>>",
        "Secure message from pt ([[EMAIL:email]]): \"<<presidio>>\"\n§Triage: <<clinical>> [[NAME_CLINICIAN:clin_lower]]",
        "Message [[DATE:date_short]]: \"<<presidio>>\"\n§<<clinical>>",
    ]),
]  # fmt: skip
