"""Patient identifiers and model-directed instructions in free text: find them, redact them, never keep them.

Pure standard library, so `tutor corpus check` and the input guard can both call it cheaply. What counts:

* NHS numbers: 10 digits, spaced, hyphenated or run together, whose Modulus 11 check digit is valid
  (a 10-digit number with an invalid check digit is not an NHS number and is left alone);
* dates of birth: a date next to "DOB", "date of birth", "born (on)" or "birthday";
* UK postcodes: a real postcode area (SW, M, B, ...) in the standard outward and inward shape;
* UK phone numbers: 0 or +44 followed by a UK-length number, spaced or not;
* email addresses;
* hospital numbers: an MRN, hospital, unit, PAS, patient or case number named as such;
* names next to a title (Mr, Mrs, Ms, Miss, Mx, Master) or to the word patient ("patient John Smith",
  "my patient called Jo"). Dr and Professor are left alone: in this domain they name authors and public figures
  far more often than patients.

Each is replaced by a typed placeholder such as ``[NHS number]``. The values found are never returned to callers
that store or log anything: `redact` gives back the clean text and the kinds removed.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field

NHS_NUMBER = "nhs_number"
DATE_OF_BIRTH = "date_of_birth"
POSTCODE = "postcode"
PHONE_NUMBER = "phone_number"
EMAIL = "email"
HOSPITAL_NUMBER = "hospital_number"
NAME = "name"

#: Every kind, in the order they are looked for (earlier kinds win an overlap).
KINDS = (EMAIL, NHS_NUMBER, HOSPITAL_NUMBER, DATE_OF_BIRTH, PHONE_NUMBER, POSTCODE, NAME)

PLACEHOLDERS = {
    NHS_NUMBER: "[NHS number]",
    DATE_OF_BIRTH: "[date of birth]",
    POSTCODE: "[postcode]",
    PHONE_NUMBER: "[phone number]",
    EMAIL: "[email address]",
    HOSPITAL_NUMBER: "[hospital number]",
    NAME: "[name]",
}

#: How each kind reads in a sentence shown to the user ("I removed an NHS number and a postcode").
DESCRIPTIONS = {
    NHS_NUMBER: "an NHS number",
    DATE_OF_BIRTH: "a date of birth",
    POSTCODE: "a postcode",
    PHONE_NUMBER: "a phone number",
    EMAIL: "an email address",
    HOSPITAL_NUMBER: "a hospital number",
    NAME: "a name",
}

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad"))


def normalise(text: str) -> str:
    """NFKC, invisible characters removed, every run of whitespace one space: what every check looks at."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).replace("\x00", "")
    return " ".join(text.split())


@dataclass(frozen=True)
class Found:
    """One identifier in a text: its kind and where it is. `value` stays in memory; never log or store it."""

    kind: str
    start: int
    end: int
    value: str


# ----------------------------------------------------------------------------------------------- NHS numbers

_NHS_CANDIDATE = re.compile(r"(?<![\w/.-])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\w/-]|\.\d)")


def nhs_check_digit_valid(digits: str) -> bool:
    """The NHS number Modulus 11 check: weights 10..2 on the first nine digits; 11 means 0; 10 is never valid."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _nhs_numbers(text: str) -> list[Found]:
    found = []
    for match in _NHS_CANDIDATE.finditer(text):
        digits = "".join(match.groups())
        if nhs_check_digit_valid(digits) and len(set(digits)) > 1:
            found.append(Found(NHS_NUMBER, match.start(), match.end(), match.group()))
    return found


# ----------------------------------------------------------------------------------------------- dates of birth

_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
           r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_DATE = (r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"           # 12/03/1956, 12.3.56
         r"|\d{4}-\d{1,2}-\d{1,2}"                               # 1956-03-12
         rf"|\d{{1,2}}(?:st|nd|rd|th)?(?: of)? {_MONTHS}\.?,? \d{{2,4}}"  # 12 March 1956, 3rd of May 48
         rf"|{_MONTHS}\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}})")  # March 12, 1956
_DOB = re.compile(
    rf"\b(?:d\.?\s?o\.?\s?b\.?|date of birth|birth ?date|born(?: on)?|birthday(?: is| was)?)\s*(?:is|was|[:=-])?\s*({_DATE})\b",
    re.I)


def _dates_of_birth(text: str) -> list[Found]:
    return [Found(DATE_OF_BIRTH, m.start(1), m.end(1), m.group(1)) for m in _DOB.finditer(text)]


# ----------------------------------------------------------------------------------------------- postcodes

# The 121 postcode areas of the UK plus the Crown dependencies that share the system (GY, JE, IM).
_AREAS = set("""
AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH EN EX FK FY G GL
GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX
PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR
WS WV YO ZE
""".split())
_POSTCODE = re.compile(r"\b([A-Za-z]{1,2})(\d[A-Za-z\d]?) ?(\d[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2})\b")


def _postcodes(text: str) -> list[Found]:
    found = []
    for match in _POSTCODE.finditer(text):
        area, district, inward = match.groups()
        if area.upper() not in _AREAS:
            continue
        # Lower-case or mixed case is accepted only with the space, as people type it ("sw1a 1aa");
        # run-together lower case ("b12ab") is too easily a product code.
        if match.group() != match.group().upper() and " " not in match.group():
            continue
        found.append(Found(POSTCODE, match.start(), match.end(), match.group()))
    return found


# ----------------------------------------------------------------------------------------------- phone numbers

_PHONE = re.compile(
    r"(?<![\w+])(?:\+44\s?\(?0?\)?\s?|0044\s?|\(?0)"      # +44, 0044 or a leading 0 (maybe in brackets)
    r"(?:\d\)?[\s-]?){8,10}\d"                            # 9 to 11 more digits, spaced, hyphenated or bracketed
    r"(?![\w-])")


def _phone_numbers(text: str) -> list[Found]:
    found = []
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if digits.startswith(("44", "0044")):
            national = digits[4 if digits.startswith("00") else 2:].lstrip("0")
        else:
            national = digits[1:]
        # UK national numbers (without the trunk 0) have 9 or 10 digits and start 1, 2, 3, 5, 7, 8 or 9.
        if len(national) in (9, 10) and national[0] in "1235789":
            found.append(Found(PHONE_NUMBER, match.start(), match.end(), match.group().rstrip()))
    return found


# ----------------------------------------------------------------------------------------------- email

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")


def _emails(text: str) -> list[Found]:
    return [Found(EMAIL, m.start(), m.end(), m.group()) for m in _EMAIL.finditer(text)]


# ----------------------------------------------------------------------------------------------- hospital numbers

_HOSPITAL = re.compile(
    r"\b(?:mrn|m\.r\.n\.?|medical record (?:number|no\.?)|hospital (?:number|no\.?|num|id)|hosp\.? ?(?:no\.?|number)"
    r"|unit (?:number|no\.?)|pas (?:number|no\.?|id)|case (?:number|no\.?)|patient (?:id|number|no\.?|ref(?:erence)?)"
    r"|record (?:number|no\.?)|chi (?:number|no\.?)|h&c (?:number|no\.?))"
    r"\s*(?:is|was|of|[:#=-])?\s*#?\s*"
    r"((?=[A-Za-z0-9/-]*\d)[A-Za-z]{0,4}[-/]?\d[\dA-Za-z/-]{3,14})\b",
    re.I)


def _hospital_numbers(text: str) -> list[Found]:
    return [Found(HOSPITAL_NUMBER, m.start(1), m.end(1), m.group(1)) for m in _HOSPITAL.finditer(text)]


# ----------------------------------------------------------------------------------------------- names

_TITLE = r"(?:Mrs|Mr|Ms|Miss|Mx|Master|mrs|mr)\.?"
_NAME_WORD = r"(?:[A-Z]'[A-Z][a-z]+|Ma?c[A-Z][a-z]+|[A-Z][a-z]+(?:-[A-Z][a-z]+)?)(?:'s)?"
_NAMES = rf"({_NAME_WORD}(?: {_NAME_WORD}){{0,2}})(?![\w-])"
# Capitalised words that follow a title without being a name ("Mr And Mrs" is not a name) ...
_FUNCTION_WORDS = set("""
A An And As At But By For From He Her His I If In Is It Its No Not Of On Or She So That The Their Then There These They
This To Was We What When Where Which Who Why With Yes You Your
""".split())
# ... and many more that follow "patient" ("Patient Safety", "patient Experience Team").
_NOT_NAMES = _FUNCTION_WORDS | set("""
Safety Incident Incidents Record Records Care Data
Information Experience Access Portal Participation Advice Liaison Reported Outcome Outcomes Voice Voices Panel Group
Forum Leaflet Leaflets Story Stories Involvement Engagement Partner Partners Representative Commissioner Charter Day
Week Choice Choices Journey Journeys Pathway Pathways Online App Apps Facing Led Centred Centered Identifiable
Identifier Identifiers Number Numbers Details Notes Letter Letters Summary Summaries Zero Smart Health Healthcare
Hospital Ward Clinic Unit Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
June July August September October November December Doctor Nurse Consultant Registrar Sister Matron Class Chef
""".split())
_LOWER_STOP = set("""
a an and as at be but by for from has have he her his if in is it its no not of on or she so that the their them
then there these they this to was we what when where which who why will with would you your can could should did
does do had may might must said says told asked thinks wants needs scan scans scanning scanner imaging image images
angiography angiogram spectroscopy enterography contrast sequence sequences findings report reports guided safe
conditional compatible unsafe physics coil field
""".split())
_TITLED_NAME = re.compile(rf"\b{_TITLE} {_NAMES}")
_TITLED_LOWER = re.compile(r"\b(?:Mrs|Mr|mrs|mr)\.? ([a-z][a-z'-]+)(?![\w-])")
_PATIENT_NAME = re.compile(
    rf"\b(?:[Pp]atient|pt|client|resident|service user)(?:'s name)?,?(?: (?:is )?(?:called|named|is))?:?,? {_NAMES}")
_NAMED = re.compile(
    r"\b(?:(?:my|his|her|their|the patient'?s|patient'?s) name is|(?:man|woman|lady|gentleman|boy|girl|child|baby|son|"
    r"daughter|husband|wife|mum|dad|mother|father|chap|guy|person|someone|patient) (?:called|named)) "
    rf"{_NAMES}", re.I)


def _strip_non_names(words: list[str], stop: set[str]) -> list[str]:
    kept = []
    for word in words:
        if word in stop:
            break
        kept.append(word)
    return kept


def _names(text: str) -> list[Found]:
    found = []
    for pattern, stop in ((_TITLED_NAME, _FUNCTION_WORDS), (_PATIENT_NAME, _NOT_NAMES), (_NAMED, _NOT_NAMES)):
        for match in pattern.finditer(text):
            words = _strip_non_names(match.group(1).split(" "), stop)
            if words:
                start = match.start(1)
                found.append(Found(NAME, start, start + len(" ".join(words)), " ".join(words)))
    for match in _TITLED_LOWER.finditer(text):
        if match.group(1) not in _LOWER_STOP:
            found.append(Found(NAME, match.start(1), match.end(1), match.group(1)))
    return found


# ----------------------------------------------------------------------------------------------- together

_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.I)
_DETECTORS = {
    EMAIL: _emails, NHS_NUMBER: _nhs_numbers, HOSPITAL_NUMBER: _hospital_numbers, DATE_OF_BIRTH: _dates_of_birth,
    PHONE_NUMBER: _phone_numbers, POSTCODE: _postcodes, NAME: _names,
}


_WORTH_A_LOOK = re.compile(r"\d|@|\b(?:mrs?|ms|miss|mx|master|patient|pt|client|resident|service user|name|called|"
                           r"named)\b", re.I)


def find_identifiers(text: str) -> list[Found]:
    """Every identifier in `text`, in reading order, without overlaps (the kind found first in KINDS wins).

    Numbers inside web addresses are not identifiers (document ids in a URL pass the NHS check one time in eleven).
    """
    if not _WORTH_A_LOOK.search(text):
        return []
    urls = [(m.start(), m.end()) for m in _URL.finditer(text)]
    taken: list[Found] = []
    for kind in KINDS:
        for item in _DETECTORS[kind](text):
            if kind != EMAIL and any(s <= item.start < e for s, e in urls):
                continue
            if any(item.start < other.end and other.start < item.end for other in taken):
                continue
            taken.append(item)
    return sorted(taken, key=lambda f: f.start)


@dataclass(frozen=True)
class Redaction:
    """The text with every identifier replaced by its placeholder, and the kinds removed (no values)."""

    text: str
    kinds: tuple[str, ...]
    count: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.count > 0


def redact(text: str) -> Redaction:
    """Replace each identifier with its typed placeholder. The kinds come back in KINDS order, each once."""
    found = find_identifiers(text)
    if not found:
        return Redaction(text, (), 0)
    parts, last = [], 0
    for item in found:
        parts.append(text[last:item.start])
        parts.append(PLACEHOLDERS[item.kind])
        last = item.end
    parts.append(text[last:])
    counts = {kind: sum(f.kind == kind for f in found) for kind in KINDS if any(f.kind == kind for f in found)}
    return Redaction("".join(parts), tuple(counts), len(found), counts)


_PLACEHOLDER = "|".join(re.escape(p[1:-1]) for p in PLACEHOLDERS.values())
_LABELLED_PLACEHOLDER = re.compile(
    r"(?:\b(?:(?:her|his|their)\s+)?(?:nhs(?:\s+(?:number|no\.?|num))?|dob|d\.o\.b\.?|date of birth|"
    r"birth ?date|born(?: on)?|mrn|hospital (?:number|no\.?|id)|hosp\.? ?no\.?|unit (?:number|no\.?)|pas (?:number|no\.?)|"
    r"case (?:number|no\.?)|patient (?:id|number|no\.?)|record (?:number|no\.?)|chi (?:number|no\.?)|"
    r"tel(?:ephone)?\.?|phone(?: number)?|mobile(?: number)?|number|e-?mail(?: address)?|post ?code|address|"
    r"lives (?:at|in)|mrs|mr|ms|miss|mx|master)\.?\s*(?:is\s*|was\s*)?[:#=-]?\s*)?"
    rf"\[(?:{_PLACEHOLDER})\](?:'s)?",
    re.I)


def strip_placeholders(text: str) -> str:
    """The redacted text without its placeholders or the words that labelled them, for searching the guidance:
    "Can I paste Mr [name]'s letter (NHS [NHS number]) into ChatGPT?" -> "Can I paste letter into ChatGPT?"."""
    stripped = _LABELLED_PLACEHOLDER.sub(" ", text)
    stripped = re.sub(r"\(\s*[,;:]?\s*\)", " ", stripped)  # brackets left empty
    stripped = re.sub(r"\s+([,;:.?!)])", r"\1", stripped)
    stripped = re.sub(r"([,;:(])(?:\s*[,;:])+", r"\1", stripped)  # runs of separators left behind
    stripped = re.sub(r"^[\s,;:.-]+", "", " ".join(stripped.split()))
    return stripped or text


def describe_kinds(kinds: list[str] | tuple[str, ...]) -> str:
    """'an NHS number, a date of birth and a postcode' - never a value."""
    words = [DESCRIPTIONS.get(k, k.replace("_", " ")) for k in kinds]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# ----------------------------------------------------------------------------------------------- model-directed text

#: Text that addresses an AI model rather than a human reader: prompt injection, jailbreaks, requests for hidden
#: instructions. Shared by the input guard (as strong rules) and `tutor corpus check` (documents must hold none).
MODEL_INSTRUCTION_PATTERNS = (
    re.compile(r"\b(?:ignore|disregard|forget|override|bypass|drop|abandon)\b(?: \w+){0,3}? "
               r"(?:all|any|every|previous|prior|above|earlier|preceding|your|these|those|its|the system(?:'s)?|"
               r"the (?:above|previous|prior|earlier))(?: \w+){0,2}? "
               r"(?:instructions?|rules|prompts?|guardrails|restrictions|programming|directives|constraints|"
               r"guidelines|safeguards|filters|safety (?:rules|settings|guidelines|filters|policies))\b", re.I),
    re.compile(r"\b(?:show|print|reveal|tell|repeat|output|display|give|share|leak|dump|copy|list|paste|recite|"
               r"spell out|write out|read)\b(?: \w+){0,4}? (?:your|the) (?:system|hidden|initial|original|secret|"
               r"developer|internal|full|exact|underlying|pre-?)(?: ?prompt| instructions?| message| rules|"
               r" configuration| guidelines| directives)", re.I),
    re.compile(r"\bwhat (?:is|are|were|was) your (?:\w+ )?(?:system prompt|prompt|instructions|hidden rules|"
               r"secret rules|initial instructions|configuration)\b", re.I),
    re.compile(r"\b(?:your|the) (?:system|hidden|secret|initial|original) (?:prompt|instructions)\b.{0,40}"
               r"\b(?:verbatim|word for word|exactly|in full)\b", re.I),
    re.compile(r"\brepeat (?:everything|all|the (?:text|words|message|instructions)) (?:above|before|preceding)\b", re.I),
    re.compile(r"\b(?:ignore|disregard|forget) (?:the|everything|all|anything) (?:above|before this|previous|prior|"
               r"you were told|you have been told)\b", re.I),
    re.compile(r"\b(?:you are|you're|act as|pretend (?:to be|you are|you're)|behave as|roleplay as|role-play as)\b"
               r"(?: \w+){0,6}? (?:no|without any|without|free of|free from) (?:rules|restrictions|limits|filters|"
               r"guardrails|safety|censorship|ethical guidelines|policies|content polic(?:y|ies))\b", re.I),
    re.compile(r"\b(?:enable|enter|activate|switch (?:on|to|into)|turn on|go into|you are (?:now )?in|stay in)"
               r"(?: \w+){0,2}? (?:developer|dan|god|jailbreak|unrestricted|unfiltered|debug|sudo|admin) mode\b", re.I),
    re.compile(r"\b(?:you are now|from now on,? you|from now on,? (?:answer|respond|reply|act)|you will now act|"
               r"new instructions ?:|updated instructions ?:|do anything now)\b", re.I),
    re.compile(r"(?:^|\n)\s*(?:system|assistant)\s*:|<\|im_start\|>|<\|system\|>|\[/?INST\]|<</?SYS>>|"
               r"### ?(?:instruction|system)", re.I),
    re.compile(r"\b(?:note|message|instruction)s? (?:to|for) (?:the |any )?(?:ai|model|assistant|chatbot|llm|language model)\b", re.I),
    re.compile(r"\b(?:if you are|as) an? (?:ai|large language model|language model|llm|assistant|chatbot)(?: reading this)?,? "
               r"(?:you must|please|always|never|do not|don't|ignore)\b", re.I),
)


def find_model_instructions(text: str) -> list[tuple[int, int]]:
    """Spans of text that read as instructions to an AI model (prompt injection, jailbreak, prompt extraction)."""
    spans = []
    for pattern in MODEL_INSTRUCTION_PATTERNS:
        spans.extend((m.start(), m.end()) for m in pattern.finditer(text))
    return sorted(spans)


@dataclass(frozen=True)
class TextFinding:
    """One finding in a document for `tutor corpus check`: 1-based line, and what was found (never the value)."""

    line: int
    message: str


def scan_document(text: str, first_line: int = 1) -> list[TextFinding]:
    """Patient identifiers and model-directed instructions in a document, by line. Values are not echoed."""
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def where(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(line_starts, offset) - 1
        return first_line + line, offset - line_starts[line] + 1

    findings = []
    for item in find_identifiers(text):
        line, column = where(item.start)
        findings.append(TextFinding(line, f"possible patient identifier ({DESCRIPTIONS[item.kind]}) at column {column}: "
                                          "remove it; documents must never hold patient data"))
    for start in sorted({start for start, _ in find_model_instructions(text)}):
        line, column = where(start)
        findings.append(TextFinding(line, f"text addressed to an AI model at column {column}: documents are read as "
                                          "data and must not carry instructions to the model; reword it"))
    return sorted(findings, key=lambda f: f.line)
