"""People's names in free text, found by the words around them or by their shape.

Evidence, strongest first: a title or credential ("Dr. X", "X, MD", "Wright, Victoria
MD"), a label ("RN: amber patel", "Re: NOA HONING"), a relation ("her brother bill will
collect her", "Emergency contact D. S. Hill"), letters of a script without case in an
English note ("R. 青木"), the name lexicons, and capitalisation (capitalised words that
are not sentence starters, clinical terms or other common words). Letters are matched
by Unicode case, so Vietnamese, Greek or Cyrillic names count as capitalised words.
Each function yields (start, end) character offsets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache

from medshare_anonymizer.case_report import patterns as p
from medshare_anonymizer.case_report.ner import EPONYM_HEADS
from medshare_anonymizer.case_report.ner import genera as genera_words

Span = tuple[int, int]


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _letter_class(predicate: Callable[[str], bool]) -> str:
    """A character class of the letters up to U+1FFF (Latin, Greek, Cyrillic...) that pass."""
    ranges, start, previous = [], -2, -2
    for code in range(0x41, 0x2000):
        if not predicate(chr(code)):
            continue
        if code != previous + 1:
            if start >= 0:
                ranges.append((start, previous))
            start = code
        previous = code
    ranges.append((start, previous))
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)


UPPER = _letter_class(lambda c: c.isupper() or c.istitle())
LOWER = _letter_class(str.islower)
# Scripts without letter case (Hebrew, Arabic, Indic, Thai, kana, CJK, Hangul).
CASELESS = (
    "\u0590-\u07ff\u0900-\u0dff\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
)
# A capitalised word (O'Brien, McDonald, Vasquez-Hollis, Hưng, Smith's) or an initial.
NAME_WORD = (
    rf"(?:(?:O'|Mc|Mac|D'|al-|el-|Al-|El-)?[{UPPER}][{LOWER}]+(?:[-'’][{UPPER}{LOWER}]?[{LOWER}]+)*"
    rf"(?![{UPPER}{LOWER}\d]|-\d)|[{UPPER}]\.)"
)
_CASELESS_WORD = rf"[{CASELESS}]+"
_PARTICLE = r"(?:van|von|der|den|de|del|della|la|le|da|di|du|dos|das|bin|binti|al|el|ben|ter)"
# Not after a number: the "C." of "38.4 C." is a unit, not an initial.
_NAME_RUN = re.compile(
    rf"(?<![\w/-])(?<!\d )(?<!\d\.\d ){NAME_WORD}(?:(?: {_PARTICLE})* {NAME_WORD})*"
)
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*|^\s*[-*•]\s+|\n\s*[-*•]\s+|\d\.\s+)$")
# Words that follow a person's name at the start of a sentence ("Okonkwo reports...").
PERSON_FOLLOWERS = words(
    "is was has had reports reported states stated denies denied presents presented "
    "returns returned agrees agreed declined notes noted complains complained endorses "
    "endorsed underwent tolerated tolerates feels felt says said will would called asked "
    "arrived came lives lived works worked prefers wishes wants understands understood "
    "brought took missed needs needed continues remains completed began started stopped "
    "requested asks expresses verbalizes drove walks uses takes got gets lost gained saw "
    "can could may might should must died found visits visited helps helped manages "
    "visit call calls ring rings help say want agree are were have live attend attends "
    "phoned updated accepted notified aware"
)
# Teams and roles, which follow "seen by" as often as a person does.
ROLE_WORDS = words(
    "team teams nurse nurses nursing staff doctor doctors physician physicians consultant "
    "consultants registrar registrars resident residents fellow fellows intern interns "
    "colleague colleagues physio physios physiotherapy physiotherapist therapist therapists "
    "therapy service services department dept unit clinic district community specialist "
    "specialists surgeon surgeons surgical medical medicine on-call oncall family relatives "
    "patient pharmacist pharmacy dietitian dietician midwife midwives paramedics ambulance "
    "crew gp gps hca hcas sho spr fy1 fy2 micro microbiology cardiology radiology "
    "palliative orthogeriatric orthogeriatrics geriatrics ward wards psychiatry liaison "
    "oncology haematology hematology nephrology neurology gastroenterology endocrinology "
    "rheumatology dermatology urology orthopaedics orthopedics ophthalmology ent icu itu hdu "
    "ccu ed surgery paediatrics pediatrics obstetrics gynaecology respiratory renal stroke "
    "vascular anaesthetics anesthesia psychology hepatology neurosurgery endoscopy theatre "
    "practitioner practitioners specialist advanced assistant"
)
# Endings of English words, rare at the end of a name: a capitalised unknown word at a
# sentence start without one of these is taken for a name.
_WORD_ENDINGS = (
    "tion", "sion", "ment", "ness", "ity", "ing", "ed", "ogy", "gram", "graphy", "scopy", "ectomy",
    "otomy", "itis", "osis", "emia", "al", "ive", "ous", "ary", "ory", "ic", "ly", "able", "ible",
    "ful", "less", "ance", "ence", "ism", "ist", "ize", "ise", "ure", "age", "ent", "ant", "est",
    "ate", "ide", "ine", "one", "ol", "ase", "cal", "ics", "ia",
)  # fmt: skip
INITIAL = re.compile(rf"[{UPPER}]\.")
TITLES = words("dr doctor mr mrs ms miss mx prof professor nurse rev sr fr")
# A name after a title, on one line: "Dr. Hưng 藤田", "Dr 長谷川", "Mrs. O'Neil".
_TITLE = re.compile(
    r"\b(?:Dr|Doctor|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Nurse|Rev|Sr|Fr)\.?[ \t]+"
    rf"(?P<phi>(?:{NAME_WORD}|{_CASELESS_WORD})(?:[ \t]+(?:{NAME_WORD}|{_CASELESS_WORD})){{0,2}})"
)
# A name before a credential, also written surname first: "Wright, Victoria MD".
_CREDENTIAL = re.compile(
    rf"(?<![\w-])(?:{_PARTICLE} )?{NAME_WORD}(?:,? (?:{_PARTICLE} )?{NAME_WORD}){{0,3}}"
    r"(?=,?[ \t]+(?:MD|M\.D\.|DO|RN|NP|PA-C|PhD|DDS|MSW|LCSW|CNM|APRN|FNP|RD|PharmD|MBBS|FACS|"
    r"CRNA|MBChB|FRCP|FRCS|MRCP|LPN|DNP)\b)"
)
# A label and a colon before a name, in any case ("RN: amber patel", "Re: NOA HONING").
_LABEL = re.compile(
    r"(?im)\b(?:patient(?: name)?|name|pt|re|contact|emergency contact|next of kin|guardian|"
    r"caregiver|carer|referring (?:physician|provider|doctor)|pcp|gp|attending|rn|lpn|np|"
    r"nurse|prescriber|physician|provider|clinician|consultant|registrar|resident|surgeon|"
    r"pathologist|radiologist|pharmacist|therapist|social worker|interpreter|author|signed|"
    r"signed by|dictated by|reported by|verified by|reviewed by|cc|c\.c|copy|copy to|copies to|"
    r"to|from|attn|requested by|requesting clinician|referrer|spouse|parent|"
    r"physician of record|(?:accepting|admitting|operating|discharging|treating|responsible|"
    r"supervising|consulting|reporting) (?:physician|surgeon|clinician|consultant|doctor)|"
    r"chair|presented by|presenter|assistant|assist|anaesthetist|anesthetist|clinician|"
    r"accepted by|actions|plan|approved|approved by|scribe|signed electronically by|"
    r"electronically signed by|co-signed by|husband|wife|son|daughter|mother|father|partner|"
    r"nok|brother|sister|niece|nephew|hcp|poa)"
    r"[ \t]*:[ \t]*"
)
# A relation before a name ("her brother bill", "Neighbor Iris Bartošová").
_RELATION = re.compile(
    r"(?i)\b(?:mother|father|mum|mom|dad|son|daughter|brother|sister|husband|wife|spouse|"
    r"dtr|dau|sis|bro|hubby|"
    r"partner|fianc[ée]e?|boyfriend|girlfriend|grandson|granddaughter|grandmother|"
    r"grandfather|grandma|grandpa|grandchild|niece|nephew|aunt|uncle|cousin|stepson|"
    r"stepdaughter|stepmother|stepfather|son-in-law|daughter-in-law|sibling|twin|"
    r"neighbou?r|friend|carer|caregiver|guardian|roommate|flatmate|landlord|landlady|"
    r"emergency contact|next of kin)\b(?:[ \t]*\([ \t]*|,?[ \t]+)"
)
# A word of a cued name; "ST." of "ST. CLAIR" keeps its full stop.
_HEADS = "|".join(sorted(EPONYM_HEADS | {"type"}))
_TOKEN = re.compile(rf"(?:{NAME_WORD}|{_CASELESS_WORD}|[^\W\d_][\w'’-]*(?:\.(?=[ \t]+\w))?)")


def bare(word: str) -> str:
    return re.sub(r"['’]s$", "", word).rstrip(".").lower()


@cache
def _stop_words() -> frozenset[str]:
    """Words that end a cued name: function words, verbs people take, titles."""
    return p.common_words() | PERSON_FOLLOWERS | TITLES | words("and or with who the a an")


def _cued_words(
    text: str,
    start: int,
    limit: int = 3,
    last_word_ok: bool = False,
    alone_ok: bool = False,
    appositive: bool = False,
) -> int:
    """End of the name after a cue at `start` (up to `limit` words, one line), or `start`.

    Any case is taken, but a lowercase English word only before a verb people take or
    a word that is not English ("her brother bill will", "amber patel"), or, with
    `last_word_ok`, as the last word of a labelled line ("RN: rémy hope").
    """
    end = cursor = start
    stop, english = _stop_words(), p.english_words()
    names = p.first_names() | p.last_names()
    taken = 0
    while taken < limit:
        match = _TOKEN.match(text, cursor)
        if match is None or text[match.end() : match.end() + 1] == ":":  # "DOB:" is a label
            break
        word = match.group()
        low = bare(word)
        initial = INITIAL.fullmatch(word) is not None
        if low in stop and not initial:
            break
        if word[0].islower() and low in english and low not in names:
            after = re.match(r"[ \t]+([^\W\d_][\w'’-]*)", text[match.end() :])
            follower = after.group(1).lower() if after else ""
            ends_line = after is None and re.match(r"\s*(?:$|[\n.;,])", text[match.end() :])
            if not (
                follower in PERSON_FOLLOWERS
                or (follower and follower not in english and follower not in stop)
                or (last_word_ok and taken and ends_line)
                # "wife dawn" closing a cc line: a relation's name may stand alone
                or (alone_ok and _closes(word, text[match.end() :], appositive))
            ):
                break
        taken += 1
        end = match.end()
        if word.endswith(".") and not initial:
            break  # a full stop ends the name
        gap = re.match(rf"[ \t]+(?:{_PARTICLE}[ \t]+)?(?=\S)", text[end:])
        if gap is None:
            break
        cursor = end + gap.end()
    return end


def labelled(text: str) -> Iterator[Span]:
    """Names after a label and a colon, in any case."""
    for match in _LABEL.finditer(text):
        end = _cued_words(text, match.end(), limit=4, last_word_ok=True)
        # "Name: STREET, Huy": a comma between surname and given name.
        more = re.match(r",[ \t]*", text[end:])
        if end > match.end() and more:
            end = max(end, _cued_words(text, end + more.end(), limit=2, last_word_ok=True))
        if end > match.end():
            yield match.end(), end


def _closes(word: str, rest: str, appositive: bool) -> bool:
    """The word ends its line ("wife dawn"), or a sentence after a comma ("cousin, ember.")."""
    if word.endswith("."):
        return appositive and re.match(r"\s+[A-Z]|\s*$", rest) is not None
    if appositive and re.match(r"\.(?:\s+[A-Z]|\s*$)", rest):
        return True
    return re.match(r"[ \t]*(?:$|\n|\(|;)", rest) is not None


def related(text: str) -> Iterator[Span]:
    """Names after a relation word; a lowercase one needs a verb or a surname after it."""
    for match in _RELATION.finditer(text):
        appositive = match.group().rstrip().endswith((",", "("))
        end = _cued_words(text, match.end(), alone_ok=True, appositive=appositive)
        if end > match.end():
            yield match.end(), end


def titled(text: str) -> Iterator[Span]:
    for pattern in (_TITLE, _CREDENTIAL):
        for match in pattern.finditer(text):
            group = match.groupdict().get("phi")
            if group is not None and bare(group.split()[0]) in ROLE_WORDS:
                continue  # "Nurse Practitioner" is a role
            yield match.span("phi") if group is not None else match.span()


def before_eponym(text: str, start: int, end: int) -> int:
    """End of a name whose last word starts an eponym ("Dr Posada Fitzpatrick type IV")."""
    last = re.search(r"\s(\S+)$", text[start:end])
    if last and re.match(rf"(?:['’]s)?\s+(?:{_HEADS})\b", text[end : end + 40], re.I):
        return start + last.start()
    return end


def caseless(text: str) -> Iterator[Span]:
    """Runs of caseless letters (CJK, Hangul, Arabic...) in a note: names, with initials."""
    for match in _caseless_run().finditer(text):
        yield match.span()


@cache
def _caseless_run() -> re.Pattern[str]:
    word = rf"(?:{NAME_WORD}|{_CASELESS_WORD})"
    return re.compile(rf"(?:{word}[ \t]+){{0,2}}{_CASELESS_WORD}(?:[ \t]+{word}){{0,2}}")


def extend(text: str, start: int, end: int) -> Span:
    """A name grown over the initials before it ("D. S." Hill) on the same line."""
    while True:
        before = re.search(rf"(?:^|(?<=[\s(]))[{UPPER}]\.[ \t]*$", text[max(0, start - 4) : start])
        if before is None:
            return start, end
        start = max(0, start - 4) + before.start()


def is_sentence_start(text: str, start: int) -> bool:
    return bool(_SENTENCE_START.search(text[max(0, start - 6) : start]))


def _next_word(text: str, end: int) -> str:
    match = re.match(r"\s*([^\W\d_][\w']*)", text[end:])
    return match.group(1).lower() if match else ""


def capitalised(text: str) -> Iterator[Span]:
    """Runs of capitalised words that are not ordinary words, judged as names."""
    first, last, common, english = (
        p.first_names(),
        p.last_names(),
        p.common_words(),
        p.english_words(),
    )
    genera = genera_words()

    def ordinary(plain: str) -> bool:
        # An English word is ordinary unless the name lexicon knows it ("Baker", "Rose");
        # so is a compound of ordinary words ("Fine-needle").
        if (
            plain in common
            or plain in ROLE_WORDS
            or (plain in english and plain not in first and plain not in last)
        ):
            return True
        if plain in genera:  # "Prev Serratia marcescens": the genus is not a surname
            return True
        parts = plain.split("-")
        return len(parts) > 1 and all(part in common or part in english for part in parts)

    for run in _NAME_RUN.finditer(text):
        tokens = [(m.start() + run.start(), m.group()) for m in re.finditer(r"\S+", run.group())]
        segment: list[tuple[int, str]] = []
        for index, (start, word) in enumerate([*tokens, (-1, "")]):
            plain = bare(word)
            next_bare = bare(tokens[index + 1][1]) if index + 1 < len(tokens) else ""
            next_is_name = bool(next_bare) and not ordinary(next_bare)
            known_name = plain in first or plain in last
            # Ordinary words join a name only next to a word that is not ordinary
            # ("Mele Okonkwo"); curated clinical words only as lexicon names ("Grace Wood").
            keep = (
                bool(word)
                and plain not in TITLES
                and (
                    INITIAL.fullmatch(word) is not None
                    or not ordinary(plain)
                    or (plain not in common and (bool(segment) or next_is_name))
                    or (known_name and (bool(segment) or next_is_name))
                )
            )
            if keep:
                segment.append((start, word))
                continue
            if segment:
                yield from _judge_segment(text, segment, first, last)
            segment = []


def _judge_segment(
    text: str, segment: list[tuple[int, str]], first: frozenset[str], last: frozenset[str]
) -> Iterator[Span]:
    words = [word for _, word in segment if not INITIAL.fullmatch(word)]
    if not words:
        return
    start = segment[0][0]
    end = segment[-1][0] + len(segment[-1][1])
    if len(segment) == 1 and text[end : end + 1] == ":" and is_sentence_start(text, start):
        return  # a heading ("Gross:", "Plan:"), even when it is also a surname
    lexicon = any(bare(w) in first or bare(w) in last for w in words)
    if len(words) >= 2 or len(segment) > len(words) or lexicon:
        yield start, end
        return
    word = words[0]
    # At a sentence start a capitalised word is a name only with more evidence: a
    # possessive, a verb people take ("Okonkwo reports"), "Okonkwo, Thandiwe", a
    # relative clause ("Okonkwo, who..."), or no ending of an English word.
    after = text[end : end + 40]
    if (
        not is_sentence_start(text, start)
        or word.endswith(("'s", "’s"))
        or _next_word(text, end) in PERSON_FOLLOWERS
        or re.match(rf",\s*(?:{NAME_WORD}|who\b|whose\b|whom\b)", after)
        or not (bare(word).endswith(_WORD_ENDINGS) or len(word) <= 2)  # "Hb", "Na"
    ):
        yield start, end
