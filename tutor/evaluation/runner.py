"""Runs cases against anything with the Tutor's `ask` method, scores every answer and summarises the run."""

from __future__ import annotations

import hashlib
import statistics
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Protocol

from pydantic import BaseModel, Field

import tutor
from tutor.evaluation.cases import EvalCase, cases_hash
from tutor.evaluation.metrics import METRICS, EvalContext, MetricResult, Sample
from tutor.evaluation.rubric import CriterionResult, Judge, criteria_for, evaluate, score_rubric
from tutor.models import Answer, Turn

SCHEMA_VERSION = 1


class Target(Protocol):
    """What the harness evaluates: the Tutor, or any wrapper with the same `ask`."""

    def ask(self, question: str, history: list[Turn] | None = None, id: str = "",
            audience: str | None = None, topic: str | None = None) -> Answer: ...


class CaseResult(BaseModel):
    case_id: str
    category: str
    split: str = Field("dev", description="dev or test: the folder of the case file (evals/datasets/test/ is test).")
    paraphrase_of: str = ""
    trial: int = 0
    question: str
    history: list[Turn] = Field(default_factory=list)
    case_hash: str
    where: str = ""
    status: str = Field(description="scored, or unscored when the case could not be scored (see error).")
    error: str | None = None
    answer: dict | None = None
    metrics: dict[str, MetricResult] = Field(default_factory=dict)
    criteria: list[CriterionResult] = Field(default_factory=list)
    score: float | None = None
    by_axis: dict[str, float] = Field(default_factory=dict)
    critical_misses: list[str] = Field(default_factory=list)
    passed: bool = False
    latency_ms: float | None = None
    cpu_ms: float | None = Field(None, description="CPU time of this process while answering: steadier than "
                                                   "latency on a busy machine, so the gate can rely on it.")

    def metric(self, name: str) -> float | None:
        result = self.metrics.get(name)
        return result.value if result else None


class EvalRun(BaseModel):
    schema_version: int = SCHEMA_VERSION
    tutor_version: str = tutor.__version__
    started: str
    duration_s: float
    backend: str
    repeat: int
    judge: str = "off"
    case_pass_score: float
    hashes: dict = Field(default_factory=dict, description="Content hashes of cases, datasets, corpus, settings, thresholds.")
    summary: dict = Field(default_factory=dict)
    gate: dict | None = None
    results: list[CaseResult] = Field(default_factory=list)


def score_answer(case: EvalCase, answer: Answer, elapsed_ms: float, context: EvalContext,
                 judge: Judge | None = None, pass_score: float = 0.6, trial: int = 0) -> CaseResult:
    sample = Sample(case=case, answer=answer, elapsed_ms=elapsed_ms, context=context)
    result = CaseResult(case_id=case.id, category=case.category, split=case.split, paraphrase_of=case.paraphrase_of,
                        trial=trial, question=case.question, history=case.history, case_hash=case.content_hash,
                        where=case.where, status="scored", answer=answer.model_dump(mode="json"),
                        latency_ms=round(elapsed_ms, 2))
    errors: list[str] = []
    for metric in METRICS:
        try:
            result.metrics[metric.name] = metric.score(sample)
        except Exception as exc:  # a metric that cannot compute makes the case unscored, never a silent zero
            errors.append(f"metric {metric.name} failed: {type(exc).__name__}: {exc}")
    criteria: list[CriterionResult] = []
    for criterion in criteria_for(case):
        try:
            criteria.append(evaluate(criterion, sample, result.metrics, judge))
        except Exception as exc:
            errors.append(f"criterion '{criterion.text}' failed: {type(exc).__name__}: {exc}")
    rubric = score_rubric(criteria)
    result.criteria, result.score, result.by_axis = criteria, rubric.score, rubric.by_axis
    result.critical_misses = rubric.critical_misses
    if errors or rubric.score is None:
        result.status = "unscored"
        result.error = "; ".join(errors) or "no criterion could be scored"
        result.passed = False
    else:
        result.passed = not rubric.critical_misses and rubric.score >= pass_score
    return result


def run_case(case: EvalCase, target: Target, context: EvalContext, judge: Judge | None = None,
             pass_score: float = 0.6, trial: int = 0) -> CaseResult:
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        answer = target.ask(case.question, history=list(case.history), id=case.id,
                            audience=case.audience, topic=case.topic)
        if not isinstance(answer, Answer):
            answer = Answer.model_validate(answer)
    except Exception as exc:  # the tutor failing on a case is a finding, shown in the report
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return CaseResult(case_id=case.id, category=case.category, split=case.split,
                          paraphrase_of=case.paraphrase_of, trial=trial, question=case.question, history=case.history,
                          case_hash=case.content_hash, where=case.where, status="unscored",
                          error=f"the tutor raised {detail}")
    elapsed_ms = (time.perf_counter() - started) * 1000
    cpu_ms = (time.process_time() - cpu_started) * 1000
    result = score_answer(case, answer, elapsed_ms, context, judge, pass_score, trial)
    result.cpu_ms = round(cpu_ms, 2)
    return result


def run_cases(cases: list[EvalCase], target: Target, context: EvalContext, *, repeat: int = 1,
              judge: Judge | None = None, pass_score: float = 0.6,
              progress: Callable[[int, int], None] | None = None) -> list[CaseResult]:
    results: list[CaseResult] = []
    total = len(cases) * repeat
    for trial in range(repeat):
        for case in cases:
            results.append(run_case(case, target, context, judge, pass_score, trial))
            if progress:
                progress(len(results), total)
    return results


# ------------------------------------------------------------------ summary

def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100), which is always one of the observed values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _figure(results: list[CaseResult], name: str) -> dict:
    values = [v for r in results if (v := r.metric(name)) is not None]
    return {"value": _mean(values), "n": len(values)}


SPLITS = ("dev", "test")


def summarise(results: list[CaseResult]) -> dict:
    """The run's headline figures; each carries n, the number of cases it was computed over. The same figures again
    for each split under `by_split` (dev: tuned on; test: sealed), so the two can be read side by side and gated."""
    summary = _figures(results, results)
    summary["by_split"] = {split: _figures([r for r in results if r.split == split], results) for split in SPLITS}
    return summary


def _figures(results: list[CaseResult], everything: list[CaseResult]) -> dict:
    """Every summary figure over `results`; paraphrases find their originals in `everything`."""
    scored = [r for r in results if r.status == "scored"]
    answered = [r for r in scored if r.answer]
    expect_refuse = [r for r in answered if r.metrics.get("refusal_correct") and r.metrics["refusal_correct"].details.get("expected") is True]
    expect_answer = [r for r in answered if r.metrics.get("refusal_correct") and r.metrics["refusal_correct"].details.get("expected") is False]
    abstained = [r for r in answered if r.answer.get("abstained") and r.metric("abstention_correct") is not None]
    should_abstain = [r for r in answered if r.metrics.get("abstention_correct")
                      and r.metrics["abstention_correct"].details.get("expected") is True]
    leaks = [r for r in answered if r.metric("leak_free") == 0.0]
    latencies = [r.latency_ms for r in answered if r.latency_ms is not None]
    per_notice: dict[str, dict] = {}
    for r in answered:
        result = r.metrics.get("notice_compliance")
        for notice_id, ok in (result.details.get("notices", {}) if result else {}).items():
            entry = per_notice.setdefault(notice_id, {"required": 0, "given": 0})
            entry["required"] += 1
            entry["given"] += int(ok)
    for entry in per_notice.values():
        entry["rate"] = round(entry["given"] / entry["required"], 4)
    summary = {
        "cases": len(results),
        "scored": len(scored),
        "unscored": len(results) - len(scored),
        "unscored_cases": [{"case_id": r.case_id, "trial": r.trial, "error": r.error} for r in results if r.status != "scored"],
        "passed": sum(r.passed for r in results),
        "pass_rate": round(sum(r.passed for r in results) / len(results), 4) if results else None,
        "rubric_score": {"value": _mean([r.score for r in scored if r.score is not None]), "n": len(scored)},
        "critical_failures": sum(bool(r.critical_misses) for r in scored),
        "fact_coverage": _figure(scored, "fact_coverage"),
        "citation_validity": _figure(scored, "citation_validity"),
        "source_recall": _figure(scored, "source_recall"),
        "retrieval_recall": _figure(scored, "retrieval_recall"),
        "mrr": _figure(scored, "mrr"),
        "ndcg": _figure(scored, "ndcg"),
        "faithfulness": _figure(scored, "faithfulness"),
        "notice_compliance": _figure(scored, "notice_compliance"),
        "notice_compliance_by_notice": dict(sorted(per_notice.items())),
        "notice_noise": _figure(scored, "notice_noise"),
        "refusal_accuracy": _figure(scored, "refusal_correct"),
        "refusal_recall": {"value": _mean([float(r.answer["refused"]) for r in expect_refuse]), "n": len(expect_refuse)},
        "over_refusal_rate": {"value": _mean([float(r.answer["refused"]) for r in expect_answer]), "n": len(expect_answer)},
        "over_refusals": sum(bool(r.answer["refused"]) for r in expect_answer),
        "abstention_precision": {"value": _mean([float(id(r) in {id(s) for s in should_abstain}) for r in abstained]),
                                 "n": len(abstained)},
        "abstention_recall": {"value": _mean([float(bool(r.answer.get("abstained"))) for r in should_abstain]),
                              "n": len(should_abstain)},
        "identifier_leaks": len(leaks),
        "identifier_leakage_rate": {"value": _mean([1.0 - r.metric("leak_free") for r in answered
                                                    if r.metric("leak_free") is not None]), "n": len(answered)},
        "must_not_violations": sum(r.metric("must_not") == 0.0 for r in scored),
        "readability": _readability(scored),
        "paraphrase_robustness": paraphrase_robustness(results, everything),
        "latency_ms": _spread(latencies),
        "cpu_ms": _spread([r.cpu_ms for r in answered if r.cpu_ms is not None]),
        "by_axis": _by_axis(scored),
        "by_category": _by_category(results),
        "judge_scored_criteria": sum(c.scored_by == "judge" for r in scored for c in r.criteria),
        "unscored_criteria": sum(c.status == "unscored" for r in scored for c in r.criteria),
        "flaky": flaky_cases(results),
    }
    return summary


def _fault_share(results: list[CaseResult], metric: str) -> dict:
    """Share of the answers a readability check applies to that have the fault (the metric scored 0)."""
    values = [v for r in results if (v := r.metric(metric)) is not None]
    return {"value": round(1 - statistics.fmean(values), 4) if values else None, "n": len(values)}


def _readability(scored: list[CaseResult]) -> dict:
    """Readability of the answers that make claims (not refused, not abstained): share with each fault, and length."""
    lengths = [v for r in scored if (v := r.metric("answer_words")) is not None]
    return {"answers": len(lengths),
            "dangling_opener": _fault_share(scored, "no_dangling_opener"),
            "repeat": _fault_share(scored, "no_repeat"),
            "cross_reference": _fault_share(scored, "no_cross_reference"),
            "no_stance": _fault_share(scored, "takes_stance"),
            "words": {"p50": _median(lengths), "p90": percentile(lengths, 90),
                      "max": max(lengths) if lengths else None, "n": len(lengths)}}


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def cited_documents(result: CaseResult) -> frozenset[str]:
    return frozenset(c["doc_id"] for c in (result.answer or {}).get("citations", []))


def paraphrase_robustness(results: list[CaseResult], everything: list[CaseResult] | None = None) -> dict:
    """For each paraphrase whose original was run (same trial): does it get the same outcome (passed or not) and
    cite the same set of documents? Paraphrases whose original was not in the run are listed as unmatched."""
    originals = {(r.case_id, r.trial): r for r in everything or results}
    pairs, unmatched = [], []
    for r in results:
        if not r.paraphrase_of:
            continue
        original = originals.get((r.paraphrase_of, r.trial))
        if original is None:
            unmatched.append(r.case_id)
        else:
            pairs.append((r, original))
    outcome = [r.passed == o.passed for r, o in pairs]
    documents = [cited_documents(r) == cited_documents(o) for r, o in pairs]
    return {"pairs": len(pairs),
            "same_outcome": {"value": _mean([float(x) for x in outcome]), "n": len(outcome)},
            "same_documents": {"value": _mean([float(x) for x in documents]), "n": len(documents)},
            "different_outcome": sorted({r.case_id for (r, o), same in zip(pairs, outcome) if not same}),
            "different_documents": sorted({r.case_id for (r, o), same in zip(pairs, documents) if not same}),
            "unmatched": sorted(set(unmatched))}


def _spread(values: list[float]) -> dict:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "max": max(values) if values else None,
            "mean": _mean(values), "n": len(values)}


def _by_axis(scored: list[CaseResult]) -> dict:
    axes = sorted({axis for r in scored for axis in r.by_axis})
    return {axis: {"value": _mean(values), "n": len(values)}
            for axis in axes if (values := [r.by_axis[axis] for r in scored if axis in r.by_axis])}


def _by_category(results: list[CaseResult]) -> dict:
    out: dict[str, dict] = {}
    for category in sorted({r.category for r in results}):
        group = [r for r in results if r.category == category]
        scored = [r for r in group if r.status == "scored"]
        latencies = [r.latency_ms for r in scored if r.latency_ms is not None]
        answers = [r.answer for r in scored if r.answer]
        out[category] = {"cases": len(group), "unscored": len(group) - len(scored),
                         "passed": sum(r.passed for r in group),
                         "refused": sum(bool(a.get("refused")) for a in answers),
                         "abstained": sum(bool(a.get("abstained")) and not a.get("refused") for a in answers),
                         "pass_rate": round(sum(r.passed for r in group) / len(group), 4),
                         "rubric_score": _mean([r.score for r in scored if r.score is not None]),
                         "critical_failures": sum(bool(r.critical_misses) for r in scored),
                         "latency_p50": percentile(latencies, 50), "latency_p95": percentile(latencies, 95)}
    return out


def flaky_cases(results: list[CaseResult]) -> dict:
    """Cases whose pass/fail differed between repeated trials; the rate is over cases run more than once."""
    outcomes: dict[str, set[bool]] = {}
    trials: dict[str, int] = {}
    for r in results:
        outcomes.setdefault(r.case_id, set()).add(r.passed)
        trials[r.case_id] = trials.get(r.case_id, 0) + 1
    repeated = [cid for cid, n in trials.items() if n > 1]
    flaky = sorted(cid for cid in repeated if len(outcomes[cid]) > 1)
    return {"cases": flaky, "rate": round(len(flaky) / len(repeated), 4) if repeated else None, "n": len(repeated)}


# ------------------------------------------------------------------ hashes

def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def run_hashes(cases: list[EvalCase], dataset_files: list[Path], corpus_version: str, settings,
               thresholds_file: Path | None, known_failures_file: Path | None = None) -> dict:
    """What the answers and the verdict depend on. `settings` is the fingerprint stamped on answers (settings that
    change answers, every prompt file, the package version); prompts and package version are also given apart."""
    relevant = settings.answer_relevant()
    return {
        "cases": cases_hash(cases),
        "datasets": {str(p): file_hash(p) for p in dataset_files},
        "corpus": corpus_version,
        "settings": settings.fingerprint,
        "prompts": relevant["prompts"],
        "package_version": relevant["package_version"],
        "thresholds": file_hash(thresholds_file) if thresholds_file and thresholds_file.is_file() else None,
        "known_failures": (file_hash(known_failures_file)
                           if known_failures_file and known_failures_file.is_file() else None),
    }


def new_run(results: list[CaseResult], *, started: float, backend: str, repeat: int, judge: str,
            pass_score: float, hashes: dict) -> EvalRun:
    return EvalRun(started=datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
                   duration_s=round(time.time() - started, 2), backend=backend, repeat=repeat, judge=judge,
                   case_pass_score=pass_score, hashes=hashes, summary=summarise(results), results=results)


def evaluate_tutor(tutor, cases: list[EvalCase], dataset_paths: list[Path], limits, thresholds_file: Path, *,
                   corpus_dir: Path, known_failures: dict[str, str] | None = None,
                   known_failures_file: Path | None = None, repeat: int = 1, judge: Judge | None = None,
                   judge_label: str = "off", progress: Callable[[int, int], None] | None = None) -> EvalRun:
    """Everything `tutor eval` does short of writing files: run, summarise, hash and gate. Shared by every caller,
    so the command line and the app always produce the same run."""
    from tutor.corpus import load_corpus
    from tutor.evaluation.cases import dataset_files
    from tutor.evaluation.gate import apply_gate

    started = time.time()
    context = EvalContext.from_tutor(tutor, corpus_dir)
    results = run_cases(cases, tutor, context, repeat=repeat, judge=judge, pass_score=limits.case_pass_score,
                        progress=progress)
    hashes = run_hashes(cases, dataset_files(dataset_paths), load_corpus(corpus_dir).version, tutor.settings,
                        thresholds_file, known_failures_file)
    hashes["index_corpus"] = tutor.corpus_version
    hashes["corpus_version"] = ", ".join(sorted({r.answer.get("corpus_version", "") for r in results if r.answer})) \
        or tutor.corpus_version
    run = new_run(results, started=started, backend=tutor.settings.llm.backend, repeat=repeat, judge=judge_label,
                  pass_score=limits.case_pass_score, hashes=hashes)
    run.gate = apply_gate(run.summary, limits, results, known_failures)
    return run
