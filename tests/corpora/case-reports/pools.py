# ruff: noqa: E501  (template and data tables read best one entry a line)
"""Word pools for build.py, written from the HIPAA Safe Harbor list and clinical usage.

Each hard pool is split in two halves: the development set draws from one, the frozen
evaluation set from the other, so tuning on dev cannot memorise eval's words.
"""

from __future__ import annotations

# Faker locales for patients, relatives and clinicians (Latin script and beyond Latin-1).
LOCALES = [
    "en_US", "en_US", "en_US", "en_GB", "en_CA", "en_AU", "en_IN", "pl_PL", "cs_CZ",
    "de_DE", "es_MX", "es_ES", "fr_FR", "it_IT", "pt_BR", "tr_TR", "vi_VN", "sv_SE",
    "nl_NL", "hu_HU", "ro_RO", "hr_HR", "sk_SK", "lt_LT", "da_DK", "fi_FI", "ga_IE",
    "yo_NG", "zu_ZA", "fil_PH", "ru_RU", "el_GR", "ja_JP",
]  # fmt: skip

# Given names and surnames that are ordinary English words.
WORD_GIVEN = [
    "Hope", "Rich", "Will", "Faith", "Grace", "Joy", "Mark", "Bill", "Rose", "June",
    "April", "Summer", "Sterling", "Dawn", "Guy", "Frank", "Ray", "Iris", "Ivy", "Daisy",
    "Pat", "Sunny", "Rusty", "Holly", "Crystal", "Destiny", "Autumn", "Hunter", "Chase",
    "Sky", "Royal", "Ginger", "Mercy", "Precious", "Lane", "Dean", "Bud", "Skip",
]  # fmt: skip
WORD_FAMILY = [
    "Baker", "Cook", "Rich", "Hope", "Wise", "Little", "Short", "Long", "Strong", "Love",
    "Sharp", "Moody", "Golden", "Snow", "Frost", "Mann", "Carpenter", "Parks", "Bright",
    "Young", "Brown", "White", "Black", "Hill", "Stone", "King", "Banks", "Field",
    "Fox", "Wolf", "Bird", "Rivers", "Waters", "Green", "Day", "Person", "Sweet", "Gay",
    "Church", "Hale", "Price", "Ward", "Bishop", "Street", "Lamb", "Booth", "Swift",
]  # fmt: skip
# Hyphenated, particle and apostrophe names, and names beyond Latin-1.
HARD_FAMILY = [
    "Kowalska-Nowak", "Smith-Jones", "Al-Rashid", "Ben-David", "de la Cruz", "van der Berg",
    "O'Neill", "McDonagh", "la Rosa", "dos Santos", "Ó Súilleabháin", "Dvořák", "Wałęsa",
    "Szczęsny", "Łukasiewicz", "Śliwińska", "Řezníček", "Schrödinger-Haas", "Jørgensen",
    "Nguyễn", "Trần", "Öztürk", "Çelik", "Şahin", "Ğüneş", "Đorđević", "Müller-Lüdenscheidt",
    "Ivanović", "Kiełbasa", "Ferrández", "Nuñez-Ortiz", "St. Clair", "D'Souza", "Le Guen",
    "Kaʻahumanu", "Mbeki-Ndlovu", "Ekwueme", "Abu-Ghazaleh", "Băsescu", "Ţiriac", "Žukauskas",
]  # fmt: skip
HARD_GIVEN = [
    "Anna-Maria", "Jean-Luc", "Mary-Kate", "Zoë", "Łucja", "Jiří", "Małgorzata", "Ágnes",
    "Bjørn", "Søren", "Siobhán", "Niamh", "Thắng", "Hưng", "Ayşe", "Gülşen", "Dragoș",
    "Mihály", "Oluwaseun", "Chidinma", "Xochitl", "Nayeli", "Ekaterina", "Žaneta", "Øyvind",
    "Ramón", "José-María", "Krzysztof", "Przemysław", "Wojciech", "Tomáš", "Lakshmi",
]  # fmt: skip

# Institutions whose names are common words (INSTITUTION).
INSTITUTIONS = [
    "Baptist Health", "Northwestern Memorial", "Mercy Hospital", "Good Samaritan",
    "Providence St. Vincent", "St. Mary's Medical Center", "Beth Israel", "Mount Sinai West",
    "Sunnybrook", "Royal Free Hospital", "Kaiser Permanente Oakland", "Christ Hospital",
    "Presbyterian Hospital", "Methodist Le Bonheur", "Sacred Heart", "Hope Clinic",
    "Riverside Regional", "Lakeview General", "Valley Health", "Children's Mercy",
    "Harborview Medical Center", "Advocate Trinity", "Spectrum Health Butterworth",
    "Salford Royal", "Guy's and St Thomas'", "Toronto Western", "Foothills Medical Centre",
    "Intermountain LDS Hospital", "Summit Pacific", "Grace Cottage Hospital",
    "Hillcrest Hospital", "Parkland", "Bellevue", "Cedars-Sinai", "St. Luke's Wood River",
    "Addenbrooke's", "Ninewells", "Wishaw General", "Good Hope Hospital", "Liberty Hospital",
]  # fmt: skip

# Traps: clinical language that must survive de-identification.
EPONYMS = [
    "Graves' disease", "Bell's palsy", "Hodgkin lymphoma", "Parkinson's disease",
    "Cushing's syndrome", "Crohn's disease", "Addison's disease", "Down syndrome",
    "Babinski sign", "Apgar score", "Hashimoto's thyroiditis", "Alzheimer's disease",
    "Guillain-Barré syndrome", "Kawasaki disease", "Barrett's oesophagus", "Paget's disease",
    "Raynaud's phenomenon", "Wilson's disease", "Sjögren's syndrome", "Tourette syndrome",
    "Murphy's sign", "Homans' sign", "Kernig's sign", "Brudzinski's sign", "Chvostek's sign",
    "Trousseau's sign", "McBurney's point", "Meckel's diverticulum", "Whipple procedure",
    "Hartmann's procedure", "Nissen fundoplication", "Foley catheter", "Swan-Ganz catheter",
    "Holter monitor", "Glasgow Coma Scale", "Kaplan-Meier", "Gram stain", "Ziehl-Neelsen stain",
    "Reed-Sternberg cells", "Mallory-Weiss tear", "Wolff-Parkinson-White", "Stevens-Johnson syndrome",
    "Brugada pattern", "Takotsubo cardiomyopathy", "Virchow's node", "Horner's syndrome",
    "Ménière's disease", "Huntington's disease", "Tay-Sachs", "Marfan syndrome",
    "Lyme disease", "West Nile virus", "Rocky Mountain spotted fever", "Norwalk virus",
]  # fmt: skip
ORGANISMS = [
    "Escherichia coli", "Staphylococcus aureus", "Klebsiella pneumoniae", "Candida albicans",
    "Pseudomonas aeruginosa", "Streptococcus pneumoniae", "Enterococcus faecalis",
    "Clostridioides difficile", "Mycobacterium tuberculosis", "Haemophilus influenzae",
    "Neisseria meningitidis", "Listeria monocytogenes", "Helicobacter pylori",
    "Acinetobacter baumannii", "Proteus mirabilis", "Serratia marcescens", "Aspergillus fumigatus",
    "Cryptococcus neoformans", "Bordetella pertussis", "Legionella pneumophila",
    "Moraxella catarrhalis", "Stenotrophomonas maltophilia", "E. coli", "MRSA",
]  # fmt: skip
GENES = [
    "BRCA1", "BRCA2", "EGFR", "KRAS", "ALK", "HER2", "TP53", "BRAF V600E", "JAK2 V617F",
    "MLH1", "PIK3CA", "FLT3-ITD", "NPM1", "IDH1", "PD-L1", "CFTR F508del", "HLA-B27",
    "ROS1", "MET exon 14", "APOE4",
]  # fmt: skip
DRUGS = [
    "metformin", "apixaban", "warfarin", "levothyroxine", "methimazole", "prednisolone",
    "ceftriaxone", "piperacillin-tazobactam", "vancomycin", "furosemide", "amlodipine",
    "atorvastatin", "insulin glargine", "Lantus", "Eliquis", "Keytruda", "Humira",
    "carbidopa-levodopa", "Sinemet", "hydrocortisone", "fludrocortisone", "ondansetron",
    "Augmentin", "co-amoxiclav", "Tylenol", "paracetamol", "Xarelto", "Ozempic",
    "Coumadin", "Zosyn", "Bactrim", "nitrofurantoin", "Lasix", "Plavix", "Jardiance",
]  # fmt: skip
LABS = [
    ("ALT", "ALT 54 U/L"), ("AST", "AST 61 U/L"), ("HbA1c", "HbA1c 8.2%"),
    ("eGFR", "eGFR 38 mL/min/1.73m2"), ("INR", "INR 2.4"), ("CRP", "CRP 112 mg/L"),
    ("TSH", "TSH 0.01 mIU/L"), ("BNP", "BNP 1450 pg/mL"), ("Hb", "Hb 9.1 g/dL"),
    ("WBC", "WBC 14.2 x10^9/L"), ("PSA", "PSA 7.3 ng/mL"), ("LDH", "LDH 410 U/L"),
    ("Na", "Na 131 mmol/L"), ("K", "K 5.6"), ("troponin", "troponin I 0.31 ng/mL"),
    ("ESR", "ESR 88 mm/h"), ("ANA", "ANA 1:640"), ("ferritin", "ferritin 12 ng/mL"),
    ("lactate", "lactate 4.1 mmol/L"), ("D-dimer", "D-dimer 2.8 mg/L FEU"),
]  # fmt: skip
SCALES = [
    "GCS 14", "NYHA class III", "ECOG 1", "Gleason 3+4=7", "BI-RADS 4", "Apgar 8 and 9",
    "CURB-65 of 2", "Wells score 4.5", "MMSE 22/30", "NIHSS 6", "Braden 14", "Morse 45",
    "pain 7/10", "APACHE II 18", "Child-Pugh B", "Mallampati II", "ASA III", "Bishop score 6",
    "TIMI 3", "CHA2DS2-VASc 5", "Hoehn and Yahr stage 2", "Fitzpatrick type IV",
]  # fmt: skip
VITALS = [
    "BP 142/88", "HR 112", "SpO2 94% on room air", "T 38.4 C", "RR 22", "BP 90/60",
    "weight 61.2 kg", "BMI 31.4", "SpO2 89% on 2 L", "MAP 65", "HR 48", "temp 36.9",
]  # fmt: skip
DOSES = [
    "5 mg daily", "500 mg twice daily", "1 g IV q8h", "40 mg/m2", "0.5 mg/kg",
    "10 units at night", "2.5 mg BD", "4.5 g q6h", "125 mcg", "1-2 tablets PRN",
    "20 mEq KCl", "3/4 strength feeds", "100 mL/h", "75 mg once daily",
]  # fmt: skip
TIMES = ["at 14:35", "at 02:10", "0815 hrs", "at 7 pm", "at 23:50", "around 6 in the morning"]
DURATIONS = [
    "for 3 days", "over 48 hours", "for six weeks", "x 2 weeks", "for 10 years",
    "12 months", "for 3/52", "over the past 5 days", "for 20 minutes", "since childhood",
]  # fmt: skip
YEARS = ["since the 1990s", "in the 1980s", "in 2009", "since 2015", "in the late 1970s"]
CODES = ["E11.9", "I48.0", "C50.911", "N18.4", "J18.9", "LOINC 2345-7", "K50.90", "G20"]
METHOD = [
    "HIPAA Safe Harbor", "Safe Harbor method", "Expert Determination", "limited data set",
]  # fmt: skip
PLACE_WORDS = [
    "Texas", "California", "Ontario", "the Midwest", "Mexico", "India", "Poland", "Scotland",
]  # fmt: skip
AGES_YOUNG = list(range(19, 89))


def half(pool: list, part: str) -> list:
    """The half of a pool a set may use: 'dev' takes odd positions, 'eval' even ones."""
    return pool[1::2] if part == "dev" else pool[0::2]
