"""Small exact statistics for comparing runs and reviews: McNemar's exact test, the sign test and Cohen's kappa."""

from __future__ import annotations

from collections import Counter
from math import comb


def binomial_two_sided(successes: int, trials: int) -> float:
    """Exact two-sided p-value for `successes` out of `trials` under p = 0.5 (doubling the smaller tail)."""
    if trials == 0:
        return 1.0
    low = min(successes, trials - successes)
    tail = sum(comb(trials, i) for i in range(low + 1)) / 2 ** trials
    return min(1.0, 2 * tail)


def mcnemar_exact(fixed: int, broken: int) -> float:
    """Paired pass/fail: only discordant cases (fixed in B, broken in B) carry information."""
    return binomial_two_sided(fixed, fixed + broken)


def sign_test(differences: list[float]) -> tuple[int, int, float]:
    """Paired scores: counts of improvements and regressions (ties dropped) and the exact two-sided p-value."""
    up = sum(d > 0 for d in differences)
    down = sum(d < 0 for d in differences)
    return up, down, binomial_two_sided(up, up + down)


def cohen_kappa(first: list, second: list) -> float | None:
    """Agreement between two raters beyond chance: 1 perfect, 0 chance level, negative worse than chance."""
    if len(first) != len(second):
        raise ValueError("both raters must rate the same items")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second)) / n
    counts_a, counts_b = Counter(first), Counter(second)
    expected = sum(counts_a[label] * counts_b[label] for label in set(first) | set(second)) / n ** 2
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1 - expected)
