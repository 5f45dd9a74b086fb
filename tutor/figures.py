"""Exact test-accuracy arithmetic: predictive values and natural frequencies from sensitivity, specificity, prevalence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figures:
    sensitivity: float
    specificity: float
    prevalence: float

    def __post_init__(self) -> None:
        for name in ("sensitivity", "specificity", "prevalence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a fraction between 0 and 1, got {value}")

    @property
    def ppv(self) -> float:
        """Chance that a positive result is right."""
        true_pos = self.sensitivity * self.prevalence
        false_pos = (1 - self.specificity) * (1 - self.prevalence)
        return true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0

    @property
    def npv(self) -> float:
        """Chance that a negative result is right."""
        true_neg = self.specificity * (1 - self.prevalence)
        false_neg = (1 - self.sensitivity) * self.prevalence
        return true_neg / (true_neg + false_neg) if true_neg + false_neg else 0.0

    def natural_frequencies(self, population: int = 1000) -> dict[str, float]:
        """Expected counts in a population: true/false positives and negatives (unrounded)."""
        ill = self.prevalence * population
        well = population - ill
        return {
            "population": population,
            "with_condition": ill,
            "without_condition": well,
            "true_positive": self.sensitivity * ill,
            "false_negative": (1 - self.sensitivity) * ill,
            "false_positive": (1 - self.specificity) * well,
            "true_negative": self.specificity * well,
        }
