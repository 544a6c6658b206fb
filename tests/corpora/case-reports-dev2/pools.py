"""Word pools of the second development set (written for it; no lexicon of the detector read).

Names are mixed on purpose: common English ones, word-names (Hope, Rivers, Bishop),
names from many languages with letters beyond Latin-1, hyphenated and particle names.
Institutions include invented ones that no lexicon can hold (wards, surgeries, homes).
"""

GIVEN = """
Margaret Harold Eileen Desmond Winifred Clifford Priya Anand Siobhan Declan Oluwaseun Chiamaka
Tomasz Agnieszka Łukasz Małgorzata Søren Ingrid Zdeněk Šárka Björn Åsa Mei-Ling Wen Hiroshi Yuki
Rashida Kwame Abena Nnamdi Ifeoma Dmitri Svetlana Yevgenia Aurelio Graciela Joaquín Inés Thandiwe
Sipho Farhan Nusrat Reza Shirin Tevita Losana Rangi Aroha Bernadette Gwendolyn Ptolemy Cosmo Hope
Faith Rowan Sterling Ember Journey Blessing Precious Innocent Marvel Honor Sunny Dawn Summer Rocky
Lance Reginald Mabel Ethel Cuthbert Hortense Nkechi Emeka Chinedu Olamide Ayodele Kofi Yaw Esi Ama
Hüseyin Gülşen Emre Ayşe Đức Thảo Huệ Nguyệt Ngozi Saoirse Niamh Ciarán Eamon Roisin Padraig Bríd
Kalani Leilani Keanu Mahina Ximena Itzel Citlali Tenzin Pema Dorji Ishaan Kavya Aarav Ananya Vikram
""".split()

FAMILY = """
Featherstonehaugh Oyelaran Nakashima-Reid Wiśniewska Kowalczyk Brzęczyszczykiewicz Sørensen Lindqvist
Dvořáková Novák Fairweather Goodchild Merriweather Bishop Rivers Church Small Strong Hale Fox Moon
Baptiste Okonkwo-Bright Adeyemi Mensah Asante Boateng Nwachukwu Ekwueme Abernathy Pennington
Oyinlola al-Rashid
Nguyễn Trần Phạm Lê Hoàng Yamaguchi Tanaka Watanabe Kobayashi Chaudhry Siddiqui Bhattacharya
Venkataraman Subramanian Raghunathan Tupou Fifita Ngata Harjo Yazzie Begay Tsosie
Castellanos Villaseñor Ibáñez Quiñones Zielińska Grzybowski Öztürk Yılmaz Çelik Kuznetsova Volkov
Sheffield Winterbottom Trelawney Pendleton Ashdown Blackwood Greenhalgh Thistlewood Marchbanks
Lovelace Gold Snow Frost Rose Wood Stone Waters Hill Field Lamb Bull Swan Lark Wren
""".split() + ["Van der Merwe", "de la Cruz", "Dos Santos", "Ó Súilleabháin", "Te Whata"]

INSTITUTIONS = [
    "Harrowgate Road Surgery", "Quarrybank Medical Practice", "Oakridge Family Health",
    "Bayview Dialysis Unit", "Kingsbury Memory Clinic", "Ridgeline Hospice",
    "Pinecrest Care Home", "Sunnyside Lodge", "Brambleton Nursing Home", "Larchmont Rehab",
    "Thornbury Community Hospital", "St Aldhelm's Hospital", "St. Wilfrid's Hospice",
    "Our Lady of Lourdes Hospital", "Holy Cross Medical Center", "Mercy West",
    "Sutter Roseville", "Kaiser Fremont", "Ochsner Baton Rouge", "Geisinger Danville",
    "Intermountain LDS", "Cedars-Sinai", "Mass General", "Brigham and Women's",
    "Beaumont Royal Oak", "Groote Schuur", "Tallaght University Hospital",
    "Princess Alexandra Hospital", "Westmead", "Ninewells", "Royal Brompton",
    "Addenbrooke's", "Hôpital Lariboisière", "Klinikum rechts der Isar", "Charité",
    "Karolinska", "Rigshospitalet", "Aga Khan University Hospital", "Tygerberg",
    "Copperfield Urgent Care", "Willowbrook Pediatrics", "Northgate Cardiology Associates",
    "Silverlake Oncology", "Marigold Fertility", "Ashgrove Medical Centre",
    "Elmhurst Walk-in Centre", "Fernhill Health Centre", "Kestrel House",
    "the Lindqvist Institute", "Bellhaven Assisted Living", "Cobblestone Pharmacy",
]
WARDS = [
    "Juniper Ward", "Kestrel Ward", "Tamarind Ward", "Bluebell Ward", "Osprey Unit",
    "Cedar Ward", "Harbour Ward", "Skylark Ward", "Waterlily Unit", "Foxglove Ward",
    "Heron Ward", "Rowan Ward", "Magnolia Unit", "Peregrine Ward", "Larch Ward",
]
CREDENTIALS = ["MD", "DO", "MBBS", "MB ChB", "FRCP", "FRCR", "FRCPath", "NP", "RN", "PA-C", "PhD"]
ROLES = [
    "Consultant Geriatrician", "Specialty Registrar", "Consultant Radiologist",
    "Consultant Histopathologist", "Staff Nurse", "Charge Nurse", "Nurse Practitioner",
    "Attending Physician", "Hospitalist", "General Practitioner", "Care Coordinator",
]
RELATIONS = [
    "daughter", "son", "wife", "husband", "niece", "nephew", "granddaughter", "grandson",
    "sister", "brother", "partner", "son-in-law", "daughter-in-law", "stepdaughter",
    "neighbour", "carer", "friend", "cousin",
]
EPONYMS = [
    "Parkinson's disease", "Cushing syndrome", "Hashimoto thyroiditis", "Crohn's disease",
    "Addison's disease", "Wilson disease", "Babinski sign", "Murphy's sign",
    "Glasgow Coma Scale", "Gleason score", "Breslow thickness", "Whipple procedure",
    "Nissen fundoplication", "Foley catheter", "Kussmaul breathing", "Cheyne-Stokes breathing",
    "Trousseau sign", "Virchow's node", "Reed-Sternberg cells", "Mallory-Weiss tear",
    "Barrett's oesophagus", "Guillain-Barré syndrome", "Sjögren syndrome", "Ménière's disease",
    "Alzheimer's dementia", "Paget's disease", "Dupuytren's contracture", "Bell's palsy",
    "Raynaud phenomenon", "Charcot foot", "Homan's sign", "Romberg test", "Phalen test",
    "Lewy body dementia", "Hodgkin lymphoma", "Kaposi sarcoma", "Wernicke encephalopathy",
]
ORGANISMS = [
    "Staphylococcus aureus", "Klebsiella pneumoniae", "Pseudomonas aeruginosa",
    "Clostridioides difficile", "Candida auris", "Enterococcus faecium",
    "Streptococcus pyogenes", "Listeria monocytogenes", "Mycobacterium tuberculosis",
    "Bartonella henselae", "Proteus mirabilis", "Serratia marcescens", "Aspergillus fumigatus",
    "Haemophilus influenzae", "Moraxella catarrhalis", "E. coli", "Acinetobacter baumannii",
]
LABS = [
    ("Hb", "9.8"), ("WBC", "13.1"), ("CRP", "87"), ("eGFR", "34"), ("ALT", "62"),
    ("AST", "48"), ("INR", "2.4"), ("BNP", "1240"), ("HbA1c", "58"), ("TSH", "7.9"),
    ("Na", "129"), ("K", "5.8"), ("PSA", "11.2"), ("LDH", "410"), ("CK", "980"),
    ("ESR", "64"), ("Plt", "92"), ("Cr", "178"), ("Mg", "0.6"), ("Lactate", "3.1"),
    ("Trop", "45"), ("ALP", "230"), ("GGT", "190"), ("Ferritin", "12"), ("Bili", "41"),
]
DRUGS = [
    "apixaban", "Eliquis", "furosemide", "Lasix", "bisoprolol", "donepezil", "Aricept",
    "co-amoxiclav", "Augmentin", "piperacillin-tazobactam", "levothyroxine", "Keppra",
    "metformin", "Januvia", "ramipril", "tamsulosin", "Flomax", "sertraline", "haloperidol",
]
