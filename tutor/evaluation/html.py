"""The self-contained HTML report: inline CSS and SVG plots (by axis, by category, latency), no scripts, no fetches."""

from __future__ import annotations

from html import escape

from tutor.evaluation.gate import describe_breach
from tutor.evaluation.reports import (HASH_KEYS, case_rule_lines, category_rows, failing, known_failure_ids,
                                      notice_rows, side_by_side_rows, why_failed)
from tutor.evaluation.runner import EvalRun

BLUE, GREEN, RED, GREY, INK = "#005eb8", "#007f3b", "#d5281b", "#aeb7bd", "#212b32"
CSS = f"""
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: {INK}; margin: 24px auto;
       max-width: 1120px; padding: 0 16px; }}
h1 {{ font-size: 26px; margin-bottom: 4px; }} h2 {{ font-size: 19px; margin-top: 28px; border-bottom: 2px solid #e8edee; }}
.meta {{ color: #4c6272; }} .grid {{ display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }}
.gate {{ padding: 10px 14px; border-radius: 4px; font-weight: 600; margin: 14px 0; color: white; }}
.pass {{ background: {GREEN}; }} .fail {{ background: {RED}; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ text-align: left; padding: 4px 8px; border-bottom: 1px solid #e8edee; vertical-align: top; }}
th {{ background: #f0f4f5; }} td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.breach td {{ color: {RED}; font-weight: 600; }} code {{ font-size: 13px; }}
details {{ margin: 4px 0; }} summary {{ cursor: pointer; }} .small {{ font-size: 13px; color: #4c6272; }}
.tag {{ display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px; color: white; }}
"""


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def hbar_chart(rows: list[tuple[str, float, str]], title: str, width: int = 520) -> str:
    """Horizontal bars for values in [0, 1], each labelled, with a 0-1 axis."""
    label_w, bar_w, row_h = 150, width - 150 - 100, 24
    height = 30 + row_h * len(rows) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="600" fill="{INK}">{escape(title)}</text>']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + tick * bar_w
        parts.append(f'<line x1="{x:.1f}" y1="26" x2="{x:.1f}" y2="{height - 20}" stroke="#e8edee"/>'
                     f'<text x="{x:.1f}" y="{height - 6}" font-size="11" text-anchor="middle" fill="#4c6272">{tick:g}</text>')
    for i, (label, value, note) in enumerate(rows):
        y = 30 + i * row_h
        colour = GREEN if value >= 0.9 else BLUE if value >= 0.6 else RED
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end" fill="{INK}">{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{max(value, 0) * bar_w:.1f}" height="{row_h - 8}" fill="{colour}"/>'
                     f'<text x="{label_w + max(value, 0) * bar_w + 4:.1f}" y="{y + 15}" font-size="11" fill="{INK}">'
                     f'{value:.2f} {escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def category_chart(by_category: dict, width: int = 520) -> str:
    """Stacked bars per category: passed, not passed and unscored cases."""
    label_w, bar_w, row_h = 150, width - 150 - 70, 24
    most = max((c["cases"] for c in by_category.values()), default=1)
    height = 30 + row_h * len(by_category) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Cases by category"><title>Cases by category</title>',
             f'<text x="0" y="16" font-size="14" font-weight="600" fill="{INK}">Cases by category: passed / not passed / unscored</text>']
    for i, (category, item) in enumerate(by_category.items()):
        y = 30 + i * row_h
        x = float(label_w)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end" fill="{INK}">{escape(category)}</text>')
        failed = item["cases"] - item["passed"] - item["unscored"]
        for count, colour in ((item["passed"], GREEN), (failed, RED), (item["unscored"], GREY)):
            w = count / most * bar_w
            if w:
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 15}" font-size="11" fill="{INK}">{item["passed"]}/{item["cases"]}</text>')
    legend_y = height - 10
    for j, (name, colour) in enumerate((("passed", GREEN), ("not passed", RED), ("unscored", GREY))):
        parts.append(f'<rect x="{label_w + j * 100}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{label_w + j * 100 + 14}" y="{legend_y}" font-size="11" fill="{INK}">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def latency_chart(latencies: list[float], p50: float | None, p95: float | None, width: int = 1060) -> str:
    """Histogram of end-to-end latency per case, with the median and 95th percentile marked."""
    height, left, bottom, bins = 220, 50, 40, 30
    if not latencies:
        return "<p>No latencies recorded.</p>"
    top = max(latencies)
    step = max(top / bins, 1e-9)
    counts = [0] * bins
    for value in latencies:
        counts[min(int(value / step), bins - 1)] += 1
    most = max(counts)
    plot_w, plot_h = width - left - 20, height - bottom - 30
    bar = plot_w / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Latency per case"><title>Latency per case</title>',
             f'<text x="0" y="16" font-size="14" font-weight="600" fill="{INK}">Latency per case (ms), '
             f'{len(latencies)} answers</text>']
    for i, count in enumerate(counts):
        h = count / most * plot_h
        parts.append(f'<rect x="{left + i * bar + 1:.1f}" y="{30 + plot_h - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" fill="{BLUE}">'
                     f'<title>{i * step:.0f}-{(i + 1) * step:.0f} ms: {count}</title></rect>')
    base = 30 + plot_h
    parts.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="{INK}"/>')
    for i in range(0, bins + 1, 5):
        parts.append(f'<text x="{left + i * bar:.1f}" y="{base + 14}" font-size="11" text-anchor="middle" fill="#4c6272">{i * step:.0f}</text>')
    parts.append(f'<text x="{left - 6}" y="{34}" font-size="11" text-anchor="end" fill="#4c6272">{most}</text>')
    for value, name, colour in ((p50, "p50", GREEN), (p95, "p95", RED)):
        if value is not None:
            x = left + min(value / step, bins) * bar
            parts.append(f'<line x1="{x:.1f}" y1="28" x2="{x:.1f}" y2="{base}" stroke="{colour}" stroke-dasharray="4 3" stroke-width="2"/>'
                         f'<text x="{x + 4:.1f}" y="{40 if name == "p50" else 54}" font-size="12" fill="{colour}">{name} {value:.0f} ms</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def to_html(run: EvalRun) -> str:
    s = run.summary
    out = [f"<!doctype html><html lang='en-GB'><head><meta charset='utf-8'><title>Evaluation report: {escape(run.backend)}"
           f"</title><style>{CSS}</style></head><body>",
           f"<h1>Evaluation report: {escape(run.backend)} backend</h1>",
           f"<p class='meta'>Run {escape(run.started)} &middot; {s['cases']} case runs ({run.repeat} trial(s) each) "
           f"&middot; {run.duration_s:.1f} s &middot; LLM judge: {escape(run.judge)} &middot; a case passes with rubric "
           f"score &ge; {run.case_pass_score} and no critical miss &middot; dev is tuned on, test is sealed</p>"]
    if run.gate is not None:
        ok = run.gate["passed"]
        detail = "" if ok else ": " + "; ".join(escape(describe_breach(b)) for b in run.gate["breaches"])
        out.append(f"<div class='gate {'pass' if ok else 'fail'}'>Gate {'passed' if ok else 'FAILED'}{detail}</div>")
    splits = s.get("by_split", {})
    out.append(f"<p><b>{s['passed']}</b> of {s['cases']} passed ("
               + ", ".join(f"{name} {splits[name]['passed']} of {splits[name]['cases']}" for name in ("dev", "test")
                           if name in splits)
               + f") &middot; <b>{s['unscored']}</b> could not be scored &middot; <b>{s['critical_failures']}</b> with a "
               "critical failure</p>")
    axis_rows = [(axis, item["value"], f"(n={item['n']})") for axis, item in s["by_axis"].items()]
    out.append("<div class='grid'><div>" + hbar_chart(axis_rows, "Rubric score by axis") + "</div><div>"
               + category_chart({f"{split} {category}": item for split, category, item in category_rows(s)})
               + "</div></div>")
    latencies = [r.latency_ms for r in run.results if r.latency_ms is not None]
    out.append(latency_chart(latencies, s["latency_ms"]["p50"], s["latency_ms"]["p95"]))

    out.append("<h2>Dev and test, side by side</h2>")
    out.append(_table(["figure", "all", "dev", "test"],
                      [[escape(label), escape(a), escape(d), escape(t)] for label, a, d, t in side_by_side_rows(s)]))
    out.append("<div class='grid'><div>")
    if run.gate is not None:
        out.append("<h2>Gate</h2><ul>" + "".join(f"<li>{escape(line)}</li>" for line in case_rule_lines(run.gate))
                   + "</ul>")
        checks = run.gate["checks"]
        out.append(_table(["figure", "limit", "actual"],
                          [[f"<code>{escape(c['figure'])}</code>", f"{'&ge;' if c['kind'] == 'min' else '&le;'} {c['limit']:g}",
                            _fmt(c["actual"])] for c in checks],
                          ["" if c["passed"] else "breach" for c in checks]))
    out.append("</div><div><h2>Notices (given / required)</h2>")
    out.append(_table(["notice", "all", "dev", "test"],
                      [[escape(nid), escape(a), escape(d), escape(t)] for nid, a, d, t in notice_rows(s)]))
    robustness = s["paraphrase_robustness"]
    out.append("<h2>Paraphrases</h2>")
    if robustness["pairs"] or robustness["unmatched"]:
        out.append(f"<p>{robustness['pairs']} run with their original. Different outcome: "
                   f"{escape(', '.join(robustness['different_outcome']) or 'none')}. Different documents: "
                   f"{escape(', '.join(robustness['different_documents']) or 'none')}."
                   + (f" Original not run: {escape(', '.join(robustness['unmatched']))}." if robustness["unmatched"] else "")
                   + "</p>")
    else:
        out.append("<p>No paraphrase cases in this run.</p>")
    out.append("</div></div>")

    out.append("<h2>By category</h2>")
    out.append(_table(["split", "category", "cases", "passed", "pass rate", "score", "critical", "refused", "abstained",
                       "unscored", "p95 ms"],
                      [[escape(split), escape(c), str(i["cases"]), str(i["passed"]), f"{i['pass_rate']:.3f}",
                        _fmt(i["rubric_score"]), str(i["critical_failures"]), str(i["refused"]), str(i["abstained"]),
                        str(i["unscored"]), _fmt(i["latency_p95"])]
                       for split, c, i in category_rows(s)]))
    if s["unscored_cases"]:
        out.append(f"<h2>Could not be scored ({len(s['unscored_cases'])})</h2><ul>")
        out += [f"<li><code>{escape(u['case_id'])}</code>: {escape(u['error'] or '')}</li>" for u in s["unscored_cases"]]
        out.append("</ul>")
    failures = failing(run.results)
    known = known_failure_ids(run)
    out.append(f"<h2>Cases not passed ({len(failures)})</h2>")
    for r in failures:
        answer = (r.answer or {}).get("answer", "")
        reasons = "".join(f"<li>{escape(x)}</li>" for x in why_failed(r))
        tag = " &middot; known failure" if r.case_id in known else ""
        out.append(f"<details><summary><code>{escape(r.case_id)}</code> <span class='small'>{escape(r.split)} &middot; "
                   f"{escape(r.category)} &middot; score {_fmt(r.score)} &middot; {escape(r.where)}{tag}</span></summary>"
                   f"<p><b>Q:</b> {escape(r.question)}</p><p><b>A:</b> {escape(answer[:1200])}</p><ul>{reasons}</ul></details>")
    out.append("<h2>Content hashes</h2>")
    hashes = [[key, run.hashes.get(key)] for key in HASH_KEYS if key in run.hashes]
    hashes += [[path, digest] for path, digest in run.hashes.get("datasets", {}).items()]
    out.append(_table(["what", "hash"], [[escape(k), f"<code>{escape(str(v))}</code>"] for k, v in hashes]))
    out.append(f"<p class='small'>tutor {escape(run.tutor_version)}, report schema {run.schema_version}</p></body></html>")
    return "\n".join(out)
