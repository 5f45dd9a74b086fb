"""Many threads asking one shared Tutor at once: errors, answers that differ from asking one at a time, latency."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from benchmarks.cases import BenchCase
from benchmarks.measure import summarise_ms
from tutor.models import Answer


def answer_signature(answer: Answer) -> tuple:
    """What a user sees: the text, every citation (number, document, passage, quote), the flags and the notices."""
    return (answer.answer,
            tuple((c.n, c.doc_id, c.chunk_id, c.quote) for c in answer.citations),
            answer.abstained, answer.refused, tuple(n.id for n in answer.notices))


def ask(tutor, case: BenchCase) -> Answer:
    return tutor.ask(case.question, history=list(case.history), id=case.id)


def sequential_signatures(tutor, cases: list[BenchCase]) -> dict[str, tuple]:
    """The reference: each question asked once, one at a time."""
    return {case.id: answer_signature(ask(tutor, case)) for case in cases}


@dataclass
class ConcurrencyResult:
    threads: int
    per_thread: int
    wall_s: float
    latencies_ms: list[float]
    errors: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)

    @property
    def asks(self) -> int:
        return self.threads * self.per_thread

    def summary(self) -> dict:
        return {"threads": self.threads, "questions_per_thread": self.per_thread, "asks": self.asks,
                "errors": len(self.errors), "answers_differing_from_sequential": len(self.mismatches),
                "wall_s": round(self.wall_s, 2), "answers_per_s": round(self.asks / self.wall_s, 1) if self.wall_s else None,
                "latency": summarise_ms(self.latencies_ms), "first_errors": self.errors[:5],
                "first_mismatches": self.mismatches[:5]}


def run_concurrently(tutor, cases: list[BenchCase], expected: dict[str, tuple], threads: int = 32,
                     per_thread: int = 25, tick: Callable[[], None] | None = None) -> ConcurrencyResult:
    """`threads` threads start together; thread t asks cases t*7, t*7+1, ... so different questions overlap."""
    barrier = threading.Barrier(threads)
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    mismatches: list[str] = []

    def worker(number: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            case = cases[(number * 7 + i) % len(cases)]
            started = time.perf_counter()
            try:
                signature = answer_signature(ask(tutor, case))
            except Exception as exc:  # every failure is the finding, whatever its type
                with lock:
                    errors.append(f"thread {number}, case {case.id}: {type(exc).__name__}: {exc}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if signature != expected[case.id]:
                    mismatches.append(f"thread {number}, case {case.id}: answer differs from the one-at-a-time answer")
            if tick:
                tick()

    workers = [threading.Thread(target=worker, args=(n,), name=f"asker-{n}") for n in range(threads)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return ConcurrencyResult(threads, per_thread, time.perf_counter() - started, latencies, errors, mismatches)
