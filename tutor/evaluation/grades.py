"""A grader's verdicts on real questions (evals/grades/<name>.yaml): validated, then summarised per grade and fault.

Each file is one grader's list of `{id, grade, faults, note}`; the case files say which split each id is in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutor.corpus import _load_yaml_list, display_path, strip_lines
from tutor.evaluation.cases import DatasetError, EvalCase
from tutor.models import Problem

GRADES = ("CORRECT", "PARTIAL", "WRONG", "ABSTAINED")
FAULTS = ("dangling-opener", "repeat", "cross-reference", "no-stance", "too-long", "other")


class Grade(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The case id graded.")
    grade: Literal["CORRECT", "PARTIAL", "WRONG", "ABSTAINED"]
    faults: list[Literal["dangling-opener", "repeat", "cross-reference", "no-stance", "too-long", "other"]] = \
        Field(default_factory=list, description="What got in the reader's way, whatever the grade.")
    note: str = ""
    file: str = Field("", exclude=True)
    line: int = Field(0, exclude=True)


def load_grades(paths: list[Path], cases: list[EvalCase]) -> list[Grade]:
    """Every grade in the files; raise DatasetError listing each problem (file:line) if any entry is invalid,
    names a case that does not exist, or grades a case twice in one file."""
    known = {case.id for case in cases}
    problems: list[Problem] = []
    grades: list[Grade] = []
    for path in paths:
        if not path.is_file():
            problems.append(Problem(path=str(path), line=1, message="file not found"))
            continue
        name = display_path(path)
        seen: set[str] = set()
        for item in _load_yaml_list(path, problems):
            line = item.get("__line__", 1)
            try:
                grade = Grade(**strip_lines({k: v for k, v in item.items() if k != "__file__"}), file=name, line=line)
            except (ValidationError, TypeError) as exc:
                detail = ("; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
                          if isinstance(exc, ValidationError) else str(exc))
                problems.append(Problem(path=name, line=line, message=f"grade for '{item.get('id', '?')}': {detail} "
                                        f"(grades: {', '.join(GRADES)}; faults: {', '.join(FAULTS)})"))
                continue
            if grade.id not in known:
                problems.append(Problem(path=name, line=line, message=f"no case '{grade.id}' in the case files"))
                continue
            if grade.id in seen:
                problems.append(Problem(path=name, line=line, message=f"case '{grade.id}' is graded twice in this file"))
                continue
            seen.add(grade.id)
            grades.append(grade)
    if problems:
        raise DatasetError(problems)
    return grades


def _tally(grades: list[Grade]) -> dict:
    n = len(grades)

    def share(count: int) -> float | None:
        return round(count / n, 4) if n else None

    by_grade = {g: sum(x.grade == g for x in grades) for g in GRADES}
    faults = {f: sum(f in x.faults for x in grades) for f in FAULTS}
    with_fault = sum(bool(x.faults) for x in grades)
    return {"graded": n,
            "by_grade": {g: {"count": c, "share": share(c)} for g, c in by_grade.items()},
            "faults": {f: {"count": c, "share": share(c)} for f, c in faults.items()},
            "with_any_fault": {"count": with_fault, "share": share(with_fault)}}


def summarise_grades(grades: list[Grade], cases: list[EvalCase]) -> dict:
    """Counts and shares per grade and per fault: over all grades, per split and per grader file."""
    split = {case.id: case.split for case in cases}
    summary = _tally(grades)
    summary["by_split"] = {name: _tally([g for g in grades if split[g.id] == name]) for name in ("dev", "test")}
    summary["by_file"] = {name: _tally([g for g in grades if g.file == name])
                          for name in sorted({g.file for g in grades})}
    return summary


def render_grades(summary: dict) -> str:
    def line(label: str, tally: dict) -> str:
        grades = ", ".join(f"{g} {v['count']}" + (f" ({v['share']:.0%})" if v["share"] is not None else "")
                           for g, v in tally["by_grade"].items())
        faults = ", ".join(f"{f} {v['count']}" for f, v in tally["faults"].items() if v["count"])
        any_fault = tally["with_any_fault"]
        return (f"{label}: {tally['graded']} graded: {grades}; with a fault {any_fault['count']}"
                + (f" ({any_fault['share']:.0%})" if any_fault["share"] is not None else "")
                + (f" [{faults}]" if faults else ""))

    lines = [line("All", summary)]
    lines += [line(f"  {name}", tally) for name, tally in summary["by_split"].items()]
    lines += [line(f"  {name}", tally) for name, tally in summary["by_file"].items()]
    return "\n".join(lines)
