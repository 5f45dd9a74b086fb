"""Calibration scenarios: the true figures (exactly, from tutor.figures), natural frequencies, a 2x2 table, the
over- or under-trust verdict and the Brier score of the learner's stated confidence.

What the learner estimates depends on the result the patient in the vignette got:
  * positive (the tool flagged the patient): the chance that the flag is right, the positive predictive value;
  * negative (the tool cleared the patient): the chance that the patient has the condition all the same, 1 - NPV.
A scenario may say which with `result: positive | negative`; otherwise it is read from the question, then from the
last sentence of the vignette (a flag, alert, mark or notification is positive; "no fracture", "low risk",
"normal", "no significant abnormality", "low-suspicion" are negative).

The estimate counts as right when it is within `calibration_tolerance` (5 percentage points) of the true value. The
learner also says how sure they are that it is right (0-100%); the Brier score of that confidence is
(confidence - outcome)^2, where outcome is 1 if the estimate was right and 0 if not. Averaged over time it measures
calibration: 0 is perfect, 0.25 is what always saying 50% earns, 1 is confidently wrong every time.
"""

from __future__ import annotations

import re

from tutor.figures import Figures
from tutor.pedagogy.models import TwoByTwo

POPULATION = 1000
_NEGATIVE = re.compile(r"\b(reports? no|no fracture|low[- ]risk|as normal|normal rating|rated normal|"
                       r"no significant abnormality|low-suspicion|low suspicion|not flagged|does not flag|clear result)\b", re.I)
_POSITIVE = re.compile(r"\b(flag\w*|alert\w*|marks?|marked|notif\w*|fires|positive)\b", re.I)


def figures_of(scenario: dict) -> Figures:
    fig = scenario["figures"]
    return Figures(float(fig["sensitivity"]), float(fig["specificity"]), float(fig["prevalence"]))


def scenario_result(scenario: dict) -> str:
    """'positive' or 'negative': which result the patient in front of the learner got."""
    stated = str(scenario.get("result", "")).strip().lower()
    if stated in ("positive", "negative"):
        return stated
    for text in (scenario.get("question", ""), _last_sentence(scenario.get("vignette", ""))):
        verdict = _first_cue(text)
        if verdict:
            return verdict
    return "positive"


def _last_sentence(text: str) -> str:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    return sentences[-1] if sentences else ""


def _first_cue(text: str) -> str | None:
    negative, positive = _NEGATIVE.search(text), _POSITIVE.search(text)
    if negative and (not positive or negative.start() <= positive.start()):
        return "negative"
    return "positive" if positive else None


def two_by_two(figures: Figures, population: int = POPULATION) -> TwoByTwo:
    """Whole-person counts that add up: the condition and the flags are rounded once each, the rest follows."""
    with_condition = round(figures.prevalence * population)
    without_condition = population - with_condition
    true_positive = round(figures.sensitivity * with_condition)
    true_negative = round(figures.specificity * without_condition)
    return TwoByTwo(population=population, true_positive=true_positive,
                    false_negative=with_condition - true_positive,
                    true_negative=true_negative, false_positive=without_condition - true_negative)


def natural_frequency_text(figures: Figures, table: TwoByTwo) -> str:
    """The figures told as a story about 1,000 patients, ending with the exact predictive values."""
    return (
        f"Think of {table.population:,} patients. About {table.with_condition:,} have the condition and "
        f"{table.without_condition:,} do not. The tool flags about {table.true_positive:,} of the "
        f"{table.with_condition:,} who have it (true positives) and misses {table.false_negative:,} (false negatives). "
        f"It also flags about {table.false_positive:,} of the {table.without_condition:,} who do not have it (false "
        f"positives) and clears the other {table.true_negative:,}. So of the {table.flagged:,} patients flagged, about "
        f"{table.true_positive:,} have the condition: a flag is right {percent(figures.ppv)} of the time (the positive "
        f"predictive value, PPV). Of the {table.cleared:,} patients cleared, about {table.false_negative:,} have it "
        f"all the same: a clear result is right {percent(figures.npv)} of the time (the negative predictive value, NPV)."
    )


def percent(fraction: float) -> str:
    """A fraction as a percentage with one decimal place, or two below 1% so small risks do not round to zero."""
    value = fraction * 100
    return f"{value:.2f}%" if 0 < value < 1 else f"{value:.1f}%"


def true_value(figures: Figures, result: str) -> tuple[str, float]:
    """(target, value): PPV for a positive result; the chance of the condition despite a negative one (1 - NPV)."""
    return ("ppv", figures.ppv) if result == "positive" else ("miss", 1 - figures.npv)


def verdict(target: str, estimate: float, truth: float, tolerance: float) -> str:
    """'over-trusted', 'under-trusted' or 'well calibrated' (estimate and truth as fractions)."""
    gap = estimate - truth
    if abs(gap) <= tolerance + 1e-9:
        return "well calibrated"
    trusted_more = gap > 0 if target == "ppv" else gap < 0
    return "over-trusted" if trusted_more else "under-trusted"


def verdict_text(target: str, label: str, estimate: float, truth: float) -> str:
    said, actual = percent(estimate), percent(truth)
    if target == "ppv":
        if label == "over-trusted":
            return (f"You over-trusted the tool: you put the chance that its flag is right at {said}, but it is "
                    f"{actual}. Most of the tool's flags here are false alarms, so a flag is a reason to look "
                    "carefully, not a diagnosis.")
        if label == "under-trusted":
            return (f"You under-trusted the tool: you put the chance that its flag is right at {said}, but it is "
                    f"{actual}. A flag here carries more weight than you gave it, so do not dismiss it.")
        return f"Well calibrated: you said {said} and the chance that a flag is right is {actual}."
    if label == "over-trusted":
        return (f"You over-trusted the clear result: you put the chance that the patient has the condition anyway at "
                f"{said}, but it is {actual}. A clear result lowers the risk without removing it; the clinical picture "
                "still counts.")
    if label == "under-trusted":
        return (f"You under-trusted the clear result: you put the chance that the patient has the condition anyway at "
                f"{said}, but it is {actual}. The clear result is more reassuring than you allowed, though it never "
                "overrides the clinical picture.")
    return f"Well calibrated: you said {said} and the chance that a cleared patient has the condition is {actual}."


def brier(confidence: float, right: bool) -> float:
    """Brier score of one stated confidence (a fraction) against whether the estimate was right."""
    return (confidence - (1.0 if right else 0.0)) ** 2


def as_fraction(value: float, what: str) -> float:
    """A percentage from the learner (0-100) as a fraction, with a clear error for anything else."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number between 0 and 100 (a percentage), got {value!r}") from None
    if not 0 <= number <= 100:
        raise ValueError(f"{what} must be a percentage between 0 and 100, got {number:g}")
    return number / 100
