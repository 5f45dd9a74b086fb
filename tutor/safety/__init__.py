"""Safety layer: the input guard, the notice policy, the output guard and the audit log (see layer.py)."""

from tutor.safety.catalogue import CatalogueError
from tutor.safety.layer import TRUNCATED, InputVerdict, SafetyLayer
from tutor.safety.vocabulary import (ANSWERED_INTENTS, APPROVED_TOOLS, CLINICAL_ACCOUNTABILITY, CLINICAL_ADVICE,
                                     EMERGENCY, INJECTION, INPUT_TRUNCATED, INTENTS, NO_PATIENT_DATA, OUT_OF_SCOPE,
                                     PII, QUESTION, REFUSAL_REASONS, REPORT_INCIDENTS, SAFE_USE_NOTICES,
                                     VERIFY_OUTPUT)

__all__ = [
    "ANSWERED_INTENTS", "APPROVED_TOOLS", "CLINICAL_ACCOUNTABILITY", "CLINICAL_ADVICE", "CatalogueError", "EMERGENCY",
    "INJECTION", "INPUT_TRUNCATED", "INTENTS", "InputVerdict", "NO_PATIENT_DATA", "OUT_OF_SCOPE", "PII", "QUESTION",
    "REFUSAL_REASONS", "REPORT_INCIDENTS", "SAFE_USE_NOTICES", "SafetyLayer", "TRUNCATED", "VERIFY_OUTPUT",
]
