"""The benchmark's targets, and its results rendered as a Markdown page with the machine's description."""

from __future__ import annotations

TARGETS = {
    "warm_p95_ms": {"label": "Warm answer latency, p95", "max": 100, "unit": "ms"},
    "cold_start_s": {"label": "Cold start: new `tutor ask` process to its answer (median)", "max": 15, "unit": "s"},
    "full_build_s": {"label": "Full index build (in process, model loaded)", "max": 60, "unit": "s"},
    "one_doc_rebuild_s": {"label": "Rebuild after one document changes (in process)", "max": 5, "unit": "s"},
    "one_doc_rebuild_cli_s": {"label": "Rebuild after one document changes (`tutor ingest`, loads the model)",
                              "max": 5, "unit": "s"},
    "hybrid_recall_at_5": {"label": "Hybrid recall@5", "min": 0.95, "unit": ""},
    "hybrid_at_least_single": {"label": "Hybrid >= BM25 and >= dense on recall@5, MRR and nDCG@5", "equals": True,
                               "unit": ""},
    "peak_rss_mb": {"label": "Peak RSS of the tutor process (`tutor ask --batch`)", "max": 1536, "unit": "MB"},
    "concurrency_errors": {"label": "Errors + differing answers under concurrency (embedded and server)", "max": 0,
                           "unit": ""},
}


def _get(data: dict, *keys, default=None):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def headline(results: dict) -> dict:
    """The measured value for each target (None when the part that measures it did not run)."""
    modes = _get(results, "retrieval", "by_mode", default={})
    hybrid_ok = None
    if modes:
        hybrid_ok = all(modes["hybrid"][m] >= max(modes["bm25"][m], modes["dense"][m]) for m in modes["hybrid"])
    concurrency = [c for c in (results.get("concurrency_embedded"), _get(results, "chroma_server", "concurrency")) if c]
    return {
        "warm_p95_ms": _get(results, "warm_latency", "all_questions", "p95_ms"),
        "cold_start_s": _get(results, "cold_start", "median_s"),
        "full_build_s": _get(results, "full_build", "seconds"),
        "one_doc_rebuild_s": _get(results, "incremental", "one_document_changed", "seconds"),
        "one_doc_rebuild_cli_s": _get(results, "incremental", "one_document_changed_cli", "seconds"),
        "hybrid_recall_at_5": _get(modes, "hybrid", "recall@5"),
        "hybrid_at_least_single": hybrid_ok,
        "peak_rss_mb": _get(results, "peak_rss", "max_rss_mb"),
        "concurrency_errors": sum(c["errors"] + c["answers_differing_from_sequential"] for c in concurrency)
        if concurrency else None,
    }


def met(target: dict, value) -> bool | None:
    if value is None:
        return None
    if "max" in target:
        return value <= target["max"]
    if "min" in target:
        return value >= target["min"]
    return value == target["equals"]


def _target_text(target: dict) -> str:
    unit = f" {target['unit']}" if target["unit"] else ""
    if "max" in target:
        return f"<= {target['max']}{unit}" if target["max"] == 0 else f"< {target['max']}{unit}"
    if "min" in target:
        return f">= {target['min']}{unit}"
    return "yes"


def _value_text(value, unit: str) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value} {unit}".strip()


def _why(key: str, results: dict) -> str:
    """The measured evidence for a missed target, and the change the measurements point to."""
    cold = results.get("cold_start", {})
    startup = _nested(cold.get("profile_seconds", {})) or "see the cold-start profile"
    if key in ("cold_start_s", "one_doc_rebuild_cli_s"):
        in_process = _get(results, "incremental", "one_document_changed", "seconds")
        cli = _get(results, "incremental", "one_document_changed_cli", default={})
        wall, cpu = cli.get("seconds") or 0, cli.get("cpu_seconds") or 0
        waiting = ("the rest is waiting for the shared cores" if wall > 1.3 * cpu else "so it is work, not waiting")
        return (f"a new process must start before it does any work. The same rebuild in a running process takes "
                f"{in_process} s; as `tutor ingest` it took {wall} s wall for {cpu} s of CPU ({waiting}). "
                f"Start-up, from the profile: {startup}. "
                "What would move it: rebuild in a process that already holds the model (a long-running service, as "
                "the in-process figure shows), or start "
                "lighter: sentence-transformers imports scikit-learn and its own backends before the model loads, "
                "and every command loads and checks the whole corpus (its YAML teaching files included) although "
                "asking and indexing need only the documents.")
    if key == "warm_p95_ms":
        stages = _get(results, "warm_latency", "stages_median_ms", default={})
        return (f"stage medians (ms): {'; '.join(f'{k} {v}' for k, v in stages.items())}. The safety screen and the "
                "retriever each embed the same text; embedding it once per question would remove one model call.")
    if key == "full_build_s":
        full = results.get("full_build", {})
        return (f"{full.get('seconds')} s wall for {full.get('cpu_seconds')} s of CPU; by stage: "
                f"{'; '.join(f'{k} {v}' for k, v in full.get('stage_seconds', {}).items())}. Embedding is the cost.")
    return "see the details below."


def _nested(parts: dict[str, float]) -> str:
    """'a 5; b 3 (of which c 1, d 1)' from labels where '  of which ...' belongs to the label before it."""
    groups: list[tuple[str, list[str]]] = []
    for label, value in parts.items():
        if label.startswith("  of which ") and groups:
            groups[-1][1].append(f"{label.removeprefix('  of which ')} {value}")
        else:
            groups.append((f"{label} {value}", []))
    return "; ".join(head + (f" (of which {', '.join(subs)})" if subs else "") for head, subs in groups)


def _shorten(text: str, head: int = 200, tail: int = 80) -> str:
    return text if len(text) <= head + tail + 5 else f"{text[:head]} ... {text[-tail:]}"


def _latency_row(label: str, summary: dict) -> str:
    return (f"| {label} | {summary.get('n', 0)} | {summary.get('median_ms')} | {summary.get('p95_ms')} | "
            f"{summary.get('p99_ms')} | {summary.get('max_ms')} |")


def render_markdown(results: dict) -> str:
    machine = results["machine"]
    values = headline(results)
    out = ["# Benchmark results", ""]
    out.append(f"Produced by `{results['command']}` on {machine['when']} at commit {machine['git_commit']}, "
               f"in {results.get('bench_seconds')} s. Questions: {results['cases']}.")
    out.append("")
    out.append(f"**The 2 cores are shared** with other engineers' builds and tests: the load average was "
               f"{machine['load_average_1_5_15']} (1, 5, 15 min) at the start and {results.get('load_average_at_end')} "
               "at the end. Wall times include that contention; CPU times (where shown) do not.")
    out += ["", "## Machine", "", "| CPU | cores | memory | OS | Python | torch threads |", "|---|---|---|---|---|---|",
            f"| {machine['cpu_model']} | {machine['cores']} | {machine['memory_gb']} GB | {machine['os']} | "
            f"{machine['python']} | {machine['torch_threads']} |", ""]
    out.append("Libraries: " + ", ".join(f"{k} {v}" for k, v in machine["libraries"].items()) + ".")

    out += ["", "## Against the targets", "", "| measure | measured | target | met |", "|---|---|---|---|"]
    for key, target in TARGETS.items():
        ok = met(target, values[key])
        mark = "n/a" if ok is None else ("yes" if ok else "**MISSED**")
        out.append(f"| {target['label']} | {_value_text(values[key], target['unit'])} | {_target_text(target)} | {mark} |")

    missed = [key for key, target in TARGETS.items() if met(target, values[key]) is False]
    if missed:
        out += ["", "## Where a target is missed: what limits it, what would move it", ""]
        out += [f"- {TARGETS[key]['label']}: {_why(key, results)}" for key in missed]

    warm = results.get("warm_latency", {})
    out += ["", "## Answer latency (ms)", "", "| run | answers | median | p95 | p99 | max |", "|---|---|---|---|---|---|"]
    if warm:
        out.append(_latency_row(f"warm, one at a time, all questions x{warm['rounds']}", warm["all_questions"]))
        out.append(_latency_row("warm, one at a time, questions with expected sources",
                                warm["questions_with_expected_sources"]))
    for label, block in (("embedded Chroma", results.get("concurrency_embedded")),
                         ("Chroma server", _get(results, "chroma_server", "concurrency"))):
        if block:
            out.append(_latency_row(f"{block['threads']} threads x {block['questions_per_thread']}, one shared Tutor, "
                                    f"{label} ({block['answers_per_s']} answers/s)", block["latency"]))
    if warm.get("stages_median_ms"):
        out += ["", "Median time per stage of one warm answer (ms): " + "; ".join(
            f"{name} {value}" for name, value in warm["stages_median_ms"].items()) + f". Profile: `{warm['profile']}`."]

    out += ["", "## Concurrency", "", "| path | threads x questions | errors | answers differing from one-at-a-time |",
            "|---|---|---|---|"]
    for label, block in (("embedded Chroma", results.get("concurrency_embedded")),
                         ("Chroma server (`chroma run`)", _get(results, "chroma_server", "concurrency"))):
        if block:
            out.append(f"| {label} | {block['threads']} x {block['questions_per_thread']} | {block['errors']} | "
                       f"{block['answers_differing_from_sequential']} |")
    server = results.get("chroma_server")
    if server:
        out += ["", f"Server path answers identical to the embedded path's: {server['answers_identical_to_embedded']} of "
                f"{server['questions']}."]

    out += ["", "## Index builds", "",
            "| build | seconds | CPU seconds | chunks | chunks embedded | sentences embedded | chunks/s |",
            "|---|---|---|---|---|---|---|"]
    incremental = results.get("incremental", {})
    for label, block in (("full, empty embedding cache", results.get("full_build")),
                         ("new data dir, all vectors cached", incremental.get("new_data_dir_all_vectors_cached")),
                         ("nothing changed", incremental.get("nothing_changed")),
                         ("one document changed", incremental.get("one_document_changed"))):
        if block:
            out.append(f"| {label} | {block['seconds']} | {block['cpu_seconds']} | {block['chunks']} | "
                       f"{block['chunks_embedded']} | {block['sentences_embedded']} | {block['chunks_per_s']} |")
    cli = incremental.get("one_document_changed_cli")
    if cli:
        out.append(f"| one document changed, `{cli['command']}` (new process) | {cli['seconds']} | {cli['cpu_seconds']} "
                   "| | | | |")
    full = results.get("full_build")
    if full:
        out += ["", f"Model load (in process): {results.get('model_load_s')} s. Full build by stage (s): " + "; ".join(
            f"{name} {value}" for name, value in full["stage_seconds"].items()) + f". Edit: {incremental.get('edit')}."]

    retrieval = results.get("retrieval")
    if retrieval:
        out += ["", f"## Retrieval quality ({retrieval['cases']} questions, top {retrieval['k']} chunks)", "",
                "| method | recall@5 | MRR | nDCG@5 | questions with no expected document in the top 5 |",
                "|---|---|---|---|---|"]
        for mode, label in (("bm25", "BM25 only"), ("dense", "dense only"), ("hybrid", "hybrid (RRF)")):
            row = retrieval["by_mode"][mode]
            missed = retrieval["cases_missed_entirely"][mode]
            out.append(f"| {label} | {row['recall@5']} | {row['MRR']} | {row['nDCG@5']} | "
                       f"{len(missed)}{': ' + ', '.join(missed) if missed else ''} |")

    out += ["", "## Processes and memory", ""]
    cold = results.get("cold_start")
    if cold:
        out.append(f"- Cold start, `{cold['command']}`: " + ", ".join(
            f"{r['seconds']} s wall, {r['cpu_seconds']} s CPU (exit {r['exit_code']}, answered: {r['answered']}, "
            f"peak RSS {r['max_rss_mb']} MB)" for r in cold["runs"]) + f". Profile: `{cold.get('profile')}`.")
    if cold and cold.get("profile_seconds"):
        out.append("- Where a new process spends its time (cProfile, cumulative seconds): "
                   + _nested(cold["profile_seconds"]) + ".")
    rss = results.get("peak_rss")
    if rss:
        out.append(f"- Peak RSS of `{rss['command']}`: {rss['max_rss_mb']} MB ({rss['answers']} answers, "
                   f"{rss['errors']} errors, {rss['seconds']} s, exit {rss['exit_code']}).")
    out.append(f"- Peak RSS of the benchmark process itself (model, three indexes, builds): "
               f"{results.get('bench_process_max_rss_mb')} MB.")
    suite = results.get("eval_suite")
    if suite:
        out.append(f"- Full eval suite: {suite['seconds']} s, `{suite['command']}` (exit {suite['exit_code']}, "
                   f"peak RSS {suite['max_rss_mb']} MB)." if suite["available"] else f"- Full eval suite: {suite['reason']}.")

    faults = results.get("faults")
    if faults:
        long_input = faults["long_input_100k"]
        unicode = faults["random_unicode"]
        damaged = faults["corrupted_index"]
        out += ["", "## Faults", "",
                f"- 100,000-character question: answered in {long_input['seconds']} s using its first "
                f"{long_input['question_chars_used']} characters; notices: {', '.join(long_input['notices']) or 'none'}.",
                f"- Random Unicode: {unicode['inputs']} inputs, {unicode['errors']} errors, slowest {unicode['slowest_s']} s.",
                f"- Corrupted index ({damaged['damage']}): `{damaged['command']}` exited {damaged['exit_code']} in "
                f"{damaged['seconds']} s, traceback: {'yes' if damaged['traceback'] else 'no'}; message: "
                f"\"{_shorten(damaged['message'])}\". Rebuild: {damaged['rebuild']}."]
        outage = _get(results, "chroma_server", "server_stopped_mid_run")
        if outage:
            out.append(f"- Chroma server stopped mid-run: the next ask raised {outage['error']} after "
                       f"{outage['seconds_to_error']} s (\"{outage.get('message', '')}\"); after a restart on the same "
                       f"port and folder the same Tutor answered again in {outage['seconds_to_first_answer_after_restart']} s, "
                       f"same answer: {outage['recovered_same_answer']}.")

    out += ["", "## How the figures are defined", "",
            "- Latency: wall time of `Tutor.ask` in the benchmark process after five warm-up questions; percentiles are "
            "nearest-rank (an observed value).",
            "- Retrieval: `Retriever.search(mode=...)` with the answerer's top k; the chunks' documents in rank order "
            "(each at its first chunk) are scored against the case's expected documents with the eval harness's "
            "definitions (tutor/evaluation/metrics.py): recall = expected documents found / expected; MRR = 1 / rank "
            "of the first expected document; nDCG with binary gains. An expected entry that lists alternatives "
            "counts once, found by any of them.",
            "- Concurrency: every thread starts at a barrier; an answer differs when its text, citations (number, "
            "document, passage, quote), flags or notices differ from the same question asked alone.",
            "- Peak RSS: `ru_maxrss` of that child process from `wait4`, not of the whole process tree.",
            "- Cold start: wall time of a new `tutor ask --json` process, from launch to exit, on a built index.", ""]
    return "\n".join(out)
