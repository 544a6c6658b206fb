"""PHI recognised by its shape in other countries' conventions, or by the words before it.

Complements `patterns` (US shapes): international and national phone numbers, masked
and partial numbers, dates written as "3-May-2024", "1976.11.20", "the 28th", "May '19"
or after a weekday, ages over 89 in words or stated bare ("she is 94"), identifiers
named by their cue ("Case: S45-54853", "tow ticket", "plate"), UK and Canadian
postcodes, rural routes, and names after a verb of authorship ("grossed by lakshmi
iyer"), whatever their case.
"""

from __future__ import annotations

import re

from medshare_anonymizer.case_report.patterns import DAY_NUMBER as _D
from medshare_anonymizer.case_report.patterns import MONTH_NAME as _MONTH
from medshare_anonymizer.case_report.patterns import MONTH_NUMBER as _M

_MON3 = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)"
_WEEKDAY = r"(?:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)(?:day|sday|nesday|rsday|urday)?\.?"

DATES = [
    re.compile(p)
    for p in (
        # 3-May-2024, 22-JUL, 08 APR 19
        rf"(?i)(?<![\w-]){_D}[- ]{_MON3}[a-z]*\.?(?:[- ](?:(?:19|20)\d{{2}}|'?\d{{2}}))?(?![\w-])",
        # 1976.11.20
        rf"(?<![\d.])(?:19|20)\d{{2}}\.{_M}\.{_D}(?!\d|\.\d)",
        # Thu 24/3, Saturday 10th July 2021, Tuesday, March 5
        rf"\b{_WEEKDAY},?\s+(?:{_D}/{_M}(?:/\d{{2,4}})?|{_D}(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH}"
        rf"(?:,?\s+(?:19|20)\d{{2}})?|{_MONTH}\s+{_D}(?:st|nd|rd|th)?(?:,?\s+(?:19|20)\d{{2}})?)",
        # the 28th
        rf"(?i:\bthe\s+)(?P<phi>{_D}(?:st|nd|rd|th))\b",
        # May '19
        rf"\b{_MONTH}\s+['’]\d{{2}}\b",
        # Dec. 10 2020, 12/5/18
        rf"\b{_MONTH}\s+{_D}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}\b",
        rf"(?<![\d/.-]){_M}/{_D}/\d{{2}}(?![\d/])",
    )
]
PHONES = [
    re.compile(p)
    for p in (
        # +44 20 7053 5383, +420 669 430 791, +52 55 1234 5678, +91-98765-43210
        r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){2,5}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?!\d)",
        # 020 7993 6309, 04960 058395, (08) 9728 6683, 0405 404 425
        r"(?<![\w(])(?:\(0\d{1,4}\)|0\d{1,4})[\s-]\d{3,4}[\s-]?\d{3,4}(?!\d)",
        # xxx-xxx-3817, ***-**-1234
        r"(?i)\b[x*#]{3}[-.\s][x*#]{3}[-.\s](?P<phi>\d{4})\b",
        # ending 4471, ending in 9371, last four 0263
        r"(?i:\b(?:ending(?:\s+in)?|last\s+(?:four|4)(?:\s+digits)?(?:\s+of)?|ends\s+in)\s*:?\s*)"
        r"(?P<phi>\d{4})\b",
        # ...555-0143
        r"(?:\.\.\.|…)\s?(?P<phi>\d{2,4}(?:[-.\s]\d{3,4})?)\b",
        # pagers and bleeps are short internal numbers: "Pager 0665", "bleep 36244"
        r"(?i:\b(?:pager|bleep|beeper|page)\b\.?\s*(?:#|no\.?|number)?\s*:?\s*)"
        r"(?P<phi>\d{3,7})\b(?![.,]\d)",
        # extensions on their own: ext. 4471, x221
        r"(?i:\b(?:ext|extension|x)\.?\s?)(?P<phi>\d{3,5})\b(?!\s*(?:mg|ml|mm|cm|kg|%))",
    )
]
_NUMBER_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine)"
_DASH = r"[-‐‑‒–—\s]"
AGES = [
    re.compile(p)
    for p in (
        # ninety-two-year-old, one hundred and two-year-old, ninety years of age
        rf"(?i)\b(?:ninety(?:[- ]{_NUMBER_WORD})?|(?:a |one )?hundred(?:[- ](?:and[- ])?"
        rf"(?:{_NUMBER_WORD}|ten))?)(?=[- ]years?[- ]old|\s+years?\s+(?:of\s+age|old)|[- ]yo\b)",
        # she is 94, patient was 97 (not "HR is 94 bpm")
        r"(?i:\b(?:he|she|they|patient|pt|who)\s+(?:is|was|turned|turns|is now|was now)\s+)"
        r"(?P<phi>9\d|1[01]\d)\b(?!\s*(?:%|/|\.\d|°|[a-zA-Z]*\d|(?i:bpm|mm|kg|lb|cm|mg|beats|"
        r"breaths|percent|over|on\b|out of)))",
        # (F, 92), (94, M), nonagenarian (95), in her 90s (93), her mother, now 101
        r"(?i:\((?:[MF]|male|female|man|woman)[,/ ]\s*)(?P<phi>9\d|1[01]\d)(?=\))",
        r"(?i:\()(?P<phi>9\d|1[01]\d)(?=[,/ ]\s*(?:[MF]|male|female)\))",
        r"(?i:\b(?:nonagenarian|centenarian|in (?:her|his|their) (?:90s|nineties)),?\s*\(?)"
        r"(?P<phi>9\d|1[01]\d)\b(?![.%/]\d)",
        r"(?i:\b(?:she|he|patient|pt|mother|father|mum|mom|dad|wife|husband|grandmother|"
        r"grandfather|aunt|uncle),?\s+(?:is\s+|was\s+)?(?:now|turned|turns|aged|age)\s+)"
        r"(?P<phi>9\d|1[01]\d|ninety(?:-\w+)?)\b(?![.%/]\d|\s*(?:%|bpm|kg|mm|/))",
        # F 96, M 92: sex before age; her 94th birthday
        r"(?<![\w/.-])(?:[MF]|male|female),?\s(?P<phi>9\d|1[01]\d)\b"
        r"(?![.,]\d|\s*(?:%|mg|kg|mm|cm|bpm|/|x\b))",
        r"(?i)\b(?:9\d|1[01]\d)(?=(?:st|nd|rd|th)\s+birthday)",
        rf"(?i)\bninety(?:[- ](?:{_NUMBER_WORD}))?(?=(?:st|nd|rd|th|ieth)?\s+birthday)",
        r"(?i)\bninety[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)"
        r"(?=\s+birthday)",
        # 91M, 92 F, 97y, 100yr: age and sex or unit run together (not "T 99 F", "99.1 F")
        r"(?<![\w.,°/-])(?<!temp )(?<!Temp )(?<!T )(?<!temp: )(?<!Temp: )(?<!T: )"
        r"(?P<phi>9\d|1[01]\d) ?(?:[MF]|y|yr|yrs)(?![\w°'’-])",
        r"(?i:\b(?:aged?|age:)\s*)(?P<phi>ninety(?:[- ]" + _NUMBER_WORD + r")?)\b",
        r"(?i)\b(?:9\d|1[01]\d)(?=[- ]?(?:year|yr)s?[- ]old\b)",
        # typographic hyphens and other spellings: 92‑year‑old, 93 y.o., 95-yr-old
        rf"(?i)\b(?:9\d|1[01]\d|ninety(?:{_DASH}{_NUMBER_WORD})?)(?={_DASH}?(?:years?|yrs?|y)"
        rf"(?:{_DASH}|\.\s?)?(?:old|o\.?)(?!\w))",
    )
]
_ID_CUE = (
    r"case|case no\.?|accession|acc|specimen|report|police report|incident|ticket|tow ticket|"
    r"tow|claim|MBI|medicare|medicaid|member|member id|policy|group|plan|subscriber|unit no\.?|"
    r"unit number|hospital no\.?|NHS|NHS no\.?|health card|OHIP|card|IBAN|account|acct|"
    r"licen[cs]e|DL|DEA|NPI|serial|S/N|SN|device|lot|VIN|plate|registration|reg\.?|tag|badge|"
    r"employee|passport|booking|reference|ref|confirmation|order|requisition|encounter|visit|"
    r"MRN|chart|record|ID"
)
# A cue may name itself twice ("Medicare MBI", "Unit No."); the value holds a digit in its
# first word, or is grouped after a short capitalised prefix ("ZGP 308 435 024"), so
# "ID consult 2016.05.15" is a consult, not an identifier.
LABELLED_ID = re.compile(
    rf"(?i:\b(?:{_ID_CUE}))(?:\b|(?<=\.))(?:\s*(?:no\.?|number|#|id))?(?i:\s+(?:MBI|ID|no\.?|number)\b)?"
    r"\s*[:#=]?\s*"
    r"(?P<phi>(?!(?:19|20)\d\d\b)(?=[A-Za-z0-9/.-]*\d|[A-Z0-9]{1,5} [A-Z0-9]*\d)[A-Za-z0-9]"
    r"(?:[A-Za-z0-9/.-]|(?<=[A-Za-z0-9]) (?=[A-Z0-9]{2,4}\b)){2,}[A-Za-z0-9])"
    r"(?!\s*(?:mg|mcg|ml|mL|g|kg|units?|%|mmol|mm|cm|IU)\b)"
)
SHAPED_IDS = [
    re.compile(r"(?<![\w.-])[A-Z]{1,5}-(?:\d{2,}|[A-Z]{1,5})-\d{3,}(?:-\d+)?(?![\w-])"),
    re.compile(r"(?<![\w.-])[A-Z]\d{2}-\d{4,}(?![\w-])"),  # S45-54853
    re.compile(r"(?<![\w.-])\d[A-Z][A-Z0-9]\d[A-Z][A-Z0-9]\d[A-Z]{2}\d{2}(?![\w-])"),  # MBI
    re.compile(r"(?<![\w.-])[A-Z]{2}\d{2}[A-Z0-9]{11,30}(?![\w-])"),  # IBAN
]
POSTCODES = [
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}\b"),  # UK
    re.compile(r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ -]?\d[ABCEGHJ-NPRSTV-Z]\d\b"),  # CA
    re.compile(r"(?<![\d-])\d{5}-\d{4}(?![\d-])"),
]
RURAL_ROUTE = re.compile(
    r"(?i)\b(?:R\.R\.|Rural Route|Star Route)\s*#?\s*\d+(?:,?\s+Box\s+\d+)?"
    # "RR 22" alone is a respiratory rate: the abbreviation needs a box or a town after it
    r"|\b(?:RR|HC)\s*#?\s*\d+(?:,?\s+Box\s+\d+|(?=,\s+[A-Z][a-z]+\b))"
    r"|\bBox\s+\d+,?\s+RR\s*\d+"
)
# Verbs of authorship or contact before a person, whatever the person's case.
NAME_CUE = re.compile(
    r"(?i)\b(?:grossed|dictated|signed|reviewed|seen|examined|transcribed|verified|authored|"
    r"interpreted|discussed|spoke|spoken|called|accompanied|attended|witnessed|performed|"
    r"entered|released|prepared|cosigned|co-signed|read|covered|triaged|evaluated|"
    r"referred|messaged|paged|consulted|contacted|authorised|authorized|described|requested|"
    r"asked|staffed|input|opinion|referral|advice|handed over|copied|d/w|reported|written|"
    r"typed|checked|approved|supervised|scanned|obtained|assisted|updated|accepted|presented|"
    r"chaired|led|informed|counselled|counseled|consented|operated|managed|admitted|phoned|"
    r"rv'd|s/w|rounded|countersigned)\s+(?:by|with|to|from|under|w/)\s+"
    r"(?:(?:dr|mr|mrs|ms|nurse|rn|np)\.?\s+)?"
    # a role before a name, in any case: "Covering physician kwame öztürk notified"
    r"|\b(?:(?:message|voicemail|vm) left (?:for|with)|"
    r"(?:covering|on-call|attending|admitting|referring|treating|duty|primary|charge|staff|"
    r"bedside|night|day) (?:physician|doctor|consultant|registrar|resident|nurse|surgeon|"
    r"GP|RN|NP|hospitalist)|(?:my |our )?colleagues?|e-signed|esigned|"
    # grades before a name ("SHO ifeoma obi", "ST3 ASHDOWN, Björn") and a lowercase "dr"
    r"(?-i:SHO|SpR|StR|ST[1-8]|CT[1-3]|FY[12]|PGY-?\d|RMO|ANP|ACP|HCA|Reg|dr|DR))\.?[ \t]+"
    r"(?:(?:dr|mr|mrs|ms|nurse|rn|np)\.?\s+)?"
    r"|(?<!\S)/s/[ \t]*"
    # "per Smith", "contact Jones": only a capitalised word ("call bell" is no one)
    r"|\b(?:per|contact|ask|call|page|bleep|under the care of|care of)\s+"
    r"(?:(?:dr|mr|mrs|ms|nurse|rn|np)\.?\s+)?(?=(?-i:[^\W\d_a-z]))"
)
# Any "by" ("pended by", "updated at bedside by"): a weaker cue, read with clinical words
# as ordinary, and not after verbs of causes ("caused by Klebsiella pneumoniae").
ANY_BY = re.compile(r"(?i)\bby\s+(?:(?:dr|mr|mrs|ms|nurse)\.?\s+)?")
NOT_BY = re.compile(
    r"(?i)\b(?:caused|followed|complicated|characteri[sz]ed|marked|accompanied|affected|"
    r"replaced|surrounded|supported|confirmed|indicated|suggested|evidenced|demonstrated|"
    r"shown|treated|limited|defined|measured|diagnosed|detected|identified|infected|"
    r"colonised|colonized|bitten|stained|mediated|induced|driven|exacerbated|relieved|"
    r"worsened|improved|triggered|precipitated|preceded|covered|secondary)\s+$"
)
_WORD = re.compile(r"[^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*\.?(?!\d)")


def cued_name(
    text: str,
    start: int,
    ordinary: frozenset[str],
    names: frozenset[str],
    stop: frozenset[str] = frozenset(),
) -> int:
    """End of the name (up to three words) that starts at `start`, or `start` if none.

    An English word belongs to the name only beside a word that is not English or is
    in the name lexicons ("JOURNEY VOLKOV", "rowan wren"); words of `stop` end it. A
    lone surname may be followed by ", Given" ("Begay, Faith").
    """
    end, cursor, anchored = start, start, False
    lead = _PARTICLES.match(text, start)  # "dr. de la Cruz"
    if lead and text[lead.end() : lead.end() + 1].isupper():
        cursor, anchored = lead.end(), True
    for _ in range(3):
        # "hüseyin de la cruz": particles inside a name are part of it
        particles = _PARTICLES.match(text, cursor) if anchored else None
        match = _WORD.match(text, particles.end() if particles else cursor)
        if match is None:
            break
        word = match.group().rstrip(".").lower()
        initial = len(word) == 1 and match.group().endswith(".")
        # ÅSA SMALL: beside a name in capitals, a capitalised common word is the name's
        if (
            word in stop
            and not initial
            and not (anchored and match.group().isupper())
            and not _surname_given(text, match, stop)
        ):
            break
        name_like = initial or word not in ordinary or word in names
        if name_like or anchored or _surname_given(text, match, stop):
            end = match.end()
            name_like = True
        elif _WORD.match(text, match.end() + 1) is None or not _name_like(
            text, match.end() + 1, ordinary, names, stop
        ):
            break
        anchored = anchored or name_like
        if match.group().endswith(".") and not initial:  # a full stop ends the sentence
            end = match.end() - 1
            break
        if re.match(r" (?=\S)", text[match.end() : match.end() + 2]) is None:
            break
        cursor = match.end() + 1
    if not anchored:
        # "grossed by Bull.": one capitalised word closing the sentence
        alone = _WORD.match(text, start)
        if alone is None:
            return start
        word = alone.group().rstrip(".")
        close = start + len(word)
        if (
            word[0].isupper()
            and word.lower() not in stop
            and not _SPECIALTY.search(word)
            and re.match(r"[ \t]*(?:$|[\n.;,):])", text[close:])
        ):
            return close
        return start
    given = re.match(r",[ \t]+([^\W\d_][^\W\d_'’-]*)", text[end:])
    if (
        given
        and end - start > 1
        and " " not in text[start:end].strip()
        and (given.group(1)[0].isupper() and given.group(1).lower() not in stop)
    ):
        end += given.end()
    return end


_PARTICLES = re.compile(
    r"(?:(?:van|von|der|den|de|del|della|la|le|da|di|du|dos|das|bin|al|el|ter)"
    r"[ \t]+)+(?=\w)"
)


def _surname_given(text: str, match: re.Match[str], stop: frozenset[str]) -> bool:
    """ "Strong, Søren": a capitalised word, a comma and a capitalised given name."""
    after = re.match(r",[ \t]+([^\W\d_][^\W\d_'’-]+)", text[match.end() :])
    return (
        match.group()[0].isupper()
        and after is not None
        and after.group(1)[0].isupper()
        and after.group(1).lower() not in stop
        and not _SPECIALTY.search(after.group(1))
    )


# Names of services, not people: "Seen by Orthopaedics", "Discussed with Haematology".
_SPECIALTY = re.compile(r"(?i)(?:ology|ics|ery|iatry|ist|ine|ia|ary)$")


def _name_like(
    text: str, at: int, ordinary: frozenset[str], names: frozenset[str], stop: frozenset[str]
) -> bool:
    match = _WORD.match(text, at)
    word = match.group().rstrip(".").lower() if match else ""
    return bool(word) and word not in stop and (word not in ordinary or word in names)
