"""The one refusal vocabulary: intents, refusal reasons and notice ids shared by code, prompts, tests and evals."""

from __future__ import annotations

# What a message is (InputVerdict.intent, the audit log, the guard set's `label`).
QUESTION = "question"  # in scope: answer it
PII = "pii"  # in scope, but patient identifiers were removed first: answer the general question
CLINICAL_ADVICE = "clinical_advice"  # a dose, treatment or diagnosis for a particular person: declined
EMERGENCY = "emergency"  # someone needs help now: only the way to local emergency procedures
OUT_OF_SCOPE = "out_of_scope"  # not about AI in health and care (general clinical questions included): declined
INJECTION = "injection"  # prompt injection, jailbreak, request for hidden instructions: refused

INTENTS = (QUESTION, PII, CLINICAL_ADVICE, EMERGENCY, OUT_OF_SCOPE, INJECTION)

#: Answer.refusal_reason takes exactly these values (and is None when the question was answered).
REFUSAL_REASONS = (CLINICAL_ADVICE, EMERGENCY, OUT_OF_SCOPE, INJECTION)

#: Intents that are answered (the rest are refused); over-refusal counts refusals of these.
ANSWERED_INTENTS = (QUESTION, PII)

#: Classes the nearest-neighbour step knows from examples (identifiers are found by rules alone).
EXAMPLE_CLASSES = (QUESTION, CLINICAL_ADVICE, EMERGENCY, OUT_OF_SCOPE, INJECTION)

# Safe-use notice ids (prompts/notices.yaml defines their texts).
VERIFY_OUTPUT = "verify-output"
CLINICAL_ACCOUNTABILITY = "clinical-accountability"
NO_PATIENT_DATA = "no-patient-data"
REPORT_INCIDENTS = "report-incidents"
APPROVED_TOOLS = "approved-tools"
SAFE_USE_NOTICES = (NO_PATIENT_DATA, VERIFY_OUTPUT, CLINICAL_ACCOUNTABILITY, REPORT_INCIDENTS, APPROVED_TOOLS)

# Status notices: about how this answer was produced, not safe-use advice; they do not count towards max_notices.
INPUT_TRUNCATED = "input-truncated"
