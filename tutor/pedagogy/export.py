"""The CPD and appraisal summary: a Markdown record to attach to an appraisal or revalidation portfolio, and a CSV
with one row per activity, both written from the learner's progress."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING

from tutor.pedagogy.calibration import percent
from tutor.pedagogy.models import ARCHETYPES, LEVELS, PROFESSIONAL_GROUPS, Progress

if TYPE_CHECKING:
    from tutor.pedagogy.engine import LearningEngine

GENERAL_PROMPTS = [
    "Describe one AI output you met at work recently. How did you decide how much weight to give it?",
    "What will you do differently the next time an AI tool's output conflicts with your own assessment?",
    "Which of your learning needs about AI remain, and how will you meet them before your next appraisal?",
]
TOPIC_PROMPTS = {
    "automation-bias": "When were you last under time pressure with an AI suggestion in front of you? What helped, or would have helped, you check it?",
    "test-accuracy": "Pick an AI tool or test used in your service. Do you know the prevalence in your patients, and so how often its positive result is right?",
    "appropriate-confidence": "Is your confidence in the AI tools you use matched to the evidence for them? Where might it be too high or too low?",
    "model-performance": "What evidence of performance would you ask for before relying on a new AI tool in your area?",
    "dataset-shift": "Have the patients, equipment or workflows in your service changed since your AI tools were validated?",
    "bias-equity": "Which patient groups might an AI tool you use serve less well, and how would you notice?",
    "generative-ai": "Where could a large language model's fluent but wrong answer cause harm in your work, and how do you check its output?",
    "information-governance": "What patient information could end up in an AI tool in your work, and who approved that use?",
    "data-protection": "Do you know when a data protection impact assessment is needed for an AI tool in your organisation?",
    "incident-reporting": "Do you know how to report a problem with AI software in your organisation and to the regulator?",
    "regulation": "Do you know whether the AI tools you use are regulated as medical devices, and what that tells you?",
    "medical-devices": "Do you know whether the AI tools you use are regulated as medical devices, and what that tells you?",
    "professional-duties": "How do your professional duties apply when an AI tool contributes to a decision you make?",
    "patient-communication": "How would you explain to a patient, in plain words, the part an AI tool played in their care?",
    "clinical-safety": "Who is the clinical safety officer for the AI tools you use, and what hazards are on their log?",
}
CSV_FIELDS = ["date", "activity", "id", "title", "topics", "document", "difficulty", "result", "correct", "detail"]


def write_cpd(engine: "LearningEngine", learner_id: str, folder: Path) -> tuple[Path, Path]:
    progress = engine.progress(learner_id)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = engine.clock().strftime("%Y%m%d")
    markdown_path = folder / f"cpd-{learner_id}-{stamp}.md"
    csv_path = folder / f"cpd-{learner_id}-{stamp}.csv"
    _write_atomic(markdown_path, render_markdown(engine, progress))
    rows = csv_rows(engine, progress)
    temp = csv_path.with_suffix(".csv.tmp")
    with open(temp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(temp, csv_path)
    return markdown_path, csv_path


def _write_atomic(path: Path, text: str) -> None:
    temp = path.with_suffix(path.suffix + ".tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def render_markdown(engine: "LearningEngine", progress: Progress) -> str:
    profile = progress.profile
    material = engine.material
    lines = ["# CPD record: safe and effective use of AI in health and care", ""]
    archetypes = ", ".join(ARCHETYPES[a].split(":")[0] for a in profile.archetypes) or "none chosen"
    lines += [
        f"- Learner: `{profile.learner_id}` (a pseudonymous id; no personal data is held by the tutor)",
        f"- Role: {PROFESSIONAL_GROUPS.get(profile.professional_group, profile.professional_group)}; "
        f"capability framework archetype: {archetypes}; self-rated level {profile.level} "
        f"({LEVELS.get(profile.level, '').split(':')[0]})",
    ]
    if progress.first_active:
        lines.append(f"- Period: {_day(progress.first_active)} to {_day(progress.last_active)}; estimated time "
                     f"on task {_minutes(progress.minutes_spent)} (gaps between actions, each counted up to "
                     f"{engine.learning.idle_minutes:g} minutes)")
    lines += [f"- Generated {_day(engine.clock())} {engine.clock():%H:%M} UTC by the AI-literacy tutor from corpus version "
              f"{engine.corpus_version or 'unknown'}", ""]

    pathway = progress.pathway
    if pathway:
        lines += [f"## Learning pathway: {pathway.title}", "",
                  f"{pathway.done} of {len(pathway.steps)} steps done.", "",
                  "| Step | Document | Objective | Status |", "|---:|---|---|---|"]
        for step in pathway.steps:
            status = {"quiz": "done (questions answered)", "marked": "done (marked by learner)"}.get(step.done_how or "", "to do")
            lines.append(f"| {step.number} | {step.title} | {step.objective} | {status} |")
        if pathway.next_step:
            lines += ["", f"Next step: **{pathway.next_step.title}**: {pathway.next_step.objective}"]
        lines.append("")

    lines += ["## Topics covered", ""]
    if progress.mastery:
        lines += ["| Topic | Mastery | Questions answered | Correct | Difficulty now (1-3) |", "|---|---|---:|---:|---:|"]
        for topic in progress.mastery:
            lines.append(f"| {topic.topic} | {topic.label} ({topic.mastery:.0%}) | {topic.answered} | {topic.correct} "
                         f"| {topic.difficulty} |")
        lines += ["", "Mastery grows as answers stay right at spaced reviews (Leitner boxes): a single session "
                      "can start a topic but not secure it."]
    else:
        lines.append("No questions answered yet.")
    lines.append("")

    quiz = progress.quiz
    lines += ["## Questions answered", ""]
    if quiz:
        correct = sum(q.correct for q in quiz)
        checks = sum(q.context == "check" for q in quiz)
        lines += [f"{len(quiz)} answered ({checks} as checks for understanding after an answer), {correct} correct "
                  f"({correct / len(quiz):.0%}).", "",
                  "| Date | Question | Document | Difficulty | Result |", "|---|---|---|---:|---|"]
        for record in quiz:
            item = material.quiz.get(record.item_id, {})
            result = f"{'correct' if record.correct else 'not yet'} ({record.score:.0%})"
            lines.append(f"| {record.at:%Y-%m-%d} | {_cell(item.get('question', record.item_id))} | "
                         f"{material.doc_title(record.doc_id)} | {record.difficulty} | {result} |")
    else:
        lines.append("None yet.")
    lines.append("")

    lines += ["## Calibration scenarios", ""]
    if progress.scenarios:
        lines += ["| Date | Scenario | Asked | Your estimate | True figure | Your confidence | Verdict |",
                  "|---|---|---|---:|---:|---:|---|"]
        for record in progress.scenarios:
            asked = "chance a flag is right (PPV)" if record.target == "ppv" else "chance of the condition after a clear result (1 - NPV)"
            lines.append(f"| {record.at:%Y-%m-%d} | {record.title} | {asked} | {percent(record.estimate)} | "
                         f"{percent(record.true_value)} | {record.confidence:.0%} | {record.verdict} |")
        over = sum(r.verdict == "over-trusted" for r in progress.scenarios)
        under = sum(r.verdict == "under-trusted" for r in progress.scenarios)
        lines += ["", f"Over-trusted the tool in {over}, under-trusted it in {under}, well calibrated in "
                      f"{len(progress.scenarios) - over - under} of {len(progress.scenarios)}.",
                  f"Calibration of stated confidence (mean Brier score, 0 is perfect, 0.25 is what always saying 50% "
                  f"earns): {progress.brier_mean:.3f}; running mean after each scenario: "
                  f"{', '.join(f'{b:.3f}' for b in progress.brier_trend)}."]
    else:
        lines.append("None yet.")
    lines.append("")

    sources = _sources(engine, progress)
    if sources:
        lines += ["## Guidance studied", ""] + [f"- {s}" for s in sources] + [""]

    lines += ["## Reflective prompts", "",
              "For your appraisal or revalidation portfolio, write a few lines on each:", ""]
    prompts = list(GENERAL_PROMPTS)
    over = [r for r in progress.scenarios if r.verdict == "over-trusted"]
    if over:
        scenarios = "one calibration scenario" if len(over) == 1 else f"{len(over)} calibration scenarios"
        prompts.insert(0, f"In {scenarios} you over-trusted the tool (for example "
                          f"'{over[0].title}'). What made its output seem more reliable than it was?")
    for topic in progress.mastery:
        prompt = TOPIC_PROMPTS.get(topic.topic)
        if prompt and prompt not in prompts:
            prompts.append(prompt)
    lines += [f"{n}. {p}" for n, p in enumerate(prompts, start=1)]
    return "\n".join(lines).rstrip() + "\n"


def _sources(engine: "LearningEngine", progress: Progress) -> list[str]:
    doc_ids = list(dict.fromkeys([q.doc_id for q in progress.quiz] + [
        d for r in progress.scenarios for d in engine.material.scenarios.get(r.scenario_id, {}).get("docs", [])]))
    out = []
    for doc_id in doc_ids:
        doc = engine.material.docs.get(doc_id)
        if doc:
            source = doc.sources[0]
            out.append(f"{doc.title}: based on {source.title} ({source.publisher}, {source.year}) <{source.url}>")
    return out


def csv_rows(engine: "LearningEngine", progress: Progress) -> list[dict]:
    material = engine.material
    rows = []
    for record in progress.quiz:
        item = material.quiz.get(record.item_id, {})
        rows.append({"date": record.at.isoformat(timespec="seconds"),
                     "activity": "check question" if record.context == "check" else "quiz",
                     "id": record.item_id, "title": item.get("question", ""), "topics": " ".join(record.topics),
                     "document": record.doc_id, "difficulty": record.difficulty, "result": f"{record.score:.2f}",
                     "correct": "yes" if record.correct else "no", "detail": ""})
    for record in progress.scenarios:
        docs = [d for d in material.scenarios.get(record.scenario_id, {}).get("docs", []) if d in material.docs]
        topics = sorted({t for d in docs for t in material.docs[d].topics})
        rows.append({"date": record.at.isoformat(timespec="seconds"), "activity": "calibration scenario",
                     "id": record.scenario_id, "title": record.title, "topics": " ".join(topics), "document": " ".join(docs),
                     "difficulty": "", "result": f"{record.brier:.3f}", "correct": "yes" if record.verdict == "well calibrated" else "no",
                     "detail": f"{record.verdict}; estimate {percent(record.estimate)}, true {percent(record.true_value)}, "
                               f"confidence {record.confidence:.0%}, Brier {record.brier:.3f}"})
    if progress.pathway:
        for step in progress.pathway.steps:
            if step.done:
                rows.append({"date": "", "activity": "pathway step", "id": step.doc_id, "title": step.title,
                             "topics": "", "document": step.doc_id, "difficulty": "", "result": "done",
                             "correct": "", "detail": f"{progress.pathway.title}, step {step.number}: {step.objective}"})
    rows.sort(key=lambda r: (r["date"] == "", r["date"]))
    return rows


def _day(moment) -> str:
    return f"{moment.day} {moment:%B %Y}"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "/")


def _minutes(minutes: float) -> str:
    if minutes < 60:
        return f"{minutes:.0f} minutes"
    return f"{int(minutes // 60)} h {minutes % 60:.0f} min"
