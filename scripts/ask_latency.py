"""Answer time of a warm `tutor ask --json --batch` over 50 clinician-style questions: median and 95th percentile.

Builds (or reuses) an index of the corpus in the given data dir with `tutor ingest`, then runs ONE `tutor ask --json
--batch` process over the questions, so the model and index load once, as a server would. The first line of the batch
is a warm-up (torch's first inference is slow) and is reported separately, not counted.

    .venv/bin/python scripts/ask_latency.py --data-dir /tmp/latency-data
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TUTOR = Path(sys.executable).parent / "tutor"

QUESTIONS = [
    "What is automation bias?",
    "How can I avoid automation bias when an AI tool flags a scan?",
    "Why does the positive predictive value fall when a condition is rare?",
    "What is the difference between sensitivity and specificity?",
    "An AI tool has 90% sensitivity and 90% specificity. How many of its positive flags are right?",
    "How should I report a suspected problem with an AI medical device?",
    "What is the Yellow Card scheme?",
    "Can I paste a patient's letter into ChatGPT to summarise it?",
    "What should I check before using an ambient voice scribe in clinic?",
    "Who is responsible if an AI scribe leaves out an allergy?",
    "What does DCB0129 require from a manufacturer?",
    "What does DCB0160 ask of the organisation deploying a tool?",
    "What is a clinical safety officer?",
    "What is dataset shift?",
    "Why might an AI model perform worse in my hospital than in the study?",
    "Do pulse oximeters work less well on darker skin?",
    "How can bias in training data harm patients?",
    "What is the Digital Technology Assessment Criteria?",
    "What does the NICE evidence standards framework cover?",
    "What does the EU AI Act say about AI literacy?",
    "What are the Caldicott principles?",
    "Do I need a data protection impact assessment before using an AI tool?",
    "What does UK GDPR say about automated decision-making?",
    "How should I explain to a patient that AI is being used in their care?",
    "What is overfitting?",
    "What is external validation and why does it matter?",
    "What happened with the Epic sepsis model?",
    "What is a predetermined change control plan?",
    "Who is accountable when an AI tool gives wrong advice?",
    "What does the GMC expect of doctors using AI?",
    "What does the NMC Code mean for nurses using AI?",
    "What is the AI Airlock?",
    "What is post-market surveillance of medical devices?",
    "What does AUROC measure?",
    "Why is a high AUROC not enough to trust a tool?",
    "What is calibration of a risk model?",
    "What is a large language model and why can it hallucinate?",
    "Is an AI tool that supports diagnosis a medical device?",
    "What do UKCA and CE marking mean for AI devices?",
    "What are the five AI archetypes in the capability framework?",
    "What is appropriate confidence in AI?",
    "Can using AI make clinicians lose their skills?",
    "What did the Topol Review recommend for the workforce?",
    "What are the WHO principles for ethical AI in health?",
    "What is the Data Security and Protection Toolkit?",
    "What should a buyer ask a supplier before procuring an AI tool?",
    "How many GPs use generative AI in their work?",
    "What is the MHRA doing about AI as a medical device?",
    "And in Scotland?",
    "What should I do if I think an AI output is wrong?",
]
FOLLOW_UP_HISTORY = [{"role": "user", "content": "How should I report a suspected problem with an AI medical device?"}]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "tutor-latency-data",
                        help="Data dir for the index (reused when the corpus has not changed).")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="Corpus folder.")
    args = parser.parse_args()
    env = {**os.environ, "TUTOR_PATHS__DATA_DIR": str(args.data_dir), "TUTOR_PATHS__CORPUS_DIR": str(args.corpus)}

    ingest = subprocess.run([str(TUTOR), "ingest", "--quiet"], capture_output=True, text=True, env=env)
    if ingest.returncode != 0:
        print(ingest.stderr, file=sys.stderr)
        return ingest.returncode
    print(f"index: {ingest.stdout.strip()[:200]}")

    lines = [{"id": "warm-up", "question": "What is an AI model?"}]
    for number, question in enumerate(QUESTIONS, start=1):
        item = {"id": f"q{number:02d}", "question": question}
        if question.startswith("And "):
            item["history"] = FOLLOW_UP_HISTORY
        lines.append(item)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as batch:
        batch.write("\n".join(json.dumps(line) for line in lines) + "\n")
    started = time.perf_counter()
    run = subprocess.run([str(TUTOR), "ask", "--json", "--batch", batch.name], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    os.unlink(batch.name)
    if run.returncode != 0:
        print(run.stderr, file=sys.stderr)
        return run.returncode
    answers = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    if [a["id"] for a in answers] != [line["id"] for line in lines] or any("error" in a for a in answers):
        print(f"unexpected batch output:\n{run.stdout[:2000]}\n{run.stderr[-2000:]}", file=sys.stderr)
        return 1

    warm_up, timed = answers[0], answers[1:]
    latencies = [a["latency_ms"] for a in timed]
    print(f"questions: {len(timed)} in one process ({wall:.1f} s wall, model and index loading included)")
    print(f"answered {sum(not a['abstained'] and not a['refused'] for a in timed)}, "
          f"abstained {sum(a['abstained'] for a in timed)}, refused {sum(a['refused'] for a in timed)}")
    print(f"warm-up question (not counted): {warm_up['latency_ms']:.1f} ms")
    print(f"median latency_ms: {statistics.median(latencies):.1f}")
    print(f"p95 latency_ms:    {percentile(latencies, 0.95):.1f}")
    print(f"max latency_ms:    {max(latencies):.1f}")
    print(f"load average now:  {', '.join(f'{x:.2f}' for x in os.getloadavg())} (on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
