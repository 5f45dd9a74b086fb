"""What the learning engine hands to the app and the CLI: plain pydantic views, no I/O, JSON-ready."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from tutor.models import Answer, Citation

PROFESSIONAL_GROUPS = {
    "doctor": "Doctor",
    "nurse-midwife": "Nurse, midwife or nursing associate",
    "ahp": "Allied health professional",
    "pharmacist": "Pharmacist or pharmacy team",
    "student": "Student or trainee",
    "manager-ig": "Manager or information governance professional",
    "other": "Other health or care role",
}
ARCHETYPES = {
    "shaper": "Shaper: leads, regulates or sets policy and education",
    "driver": "Driver: commissions or leads transformation",
    "creator": "Creator: builds or evaluates AI",
    "embedder": "Embedder: puts AI into services (IT, data, clinical safety)",
    "user": "User: uses AI in day-to-day work",
}
LEVELS = {
    1: "New to AI: no formal AI education yet",
    2: "Some experience: I have used AI tools at work",
    3: "Confident: I can judge an AI tool's evidence",
    4: "Expert: I teach, build or govern AI",
}


class LearnerProfile(BaseModel):
    """Who the learner is, professionally. No name, email or other personal data is asked for or kept."""

    learner_id: str = Field(description="Pseudonymous id; the learner keeps it to come back later.")
    professional_group: str
    archetypes: list[str]
    level: int = Field(description="Self-rated level 1-4 (the capability framework's four knowledge levels).")
    pathway_id: str | None = Field(None, description="The pathway the learner follows; None means the default for the group.")
    created_at: datetime


class StepView(BaseModel):
    number: int
    doc_id: str
    title: str
    summary: str
    objective: str
    done: bool
    done_how: str | None = Field(None, description="'quiz' (enough items answered correctly) or 'marked' (learner said so).")
    items: int = Field(description="Approved quiz items on the step's document.")
    correct: int = Field(description="Of those, how many the learner has answered correctly at least once.")


class PathwayView(BaseModel):
    id: str
    title: str
    kind: str
    steps: list[StepView]
    next_step: StepView | None = Field(description="The first step not yet done; None when the pathway is complete.")
    done: int
    alternatives: list[tuple[str, str]] = Field(default_factory=list, description="(id, title) of other pathways for this learner.")


class QuizItemView(BaseModel):
    """A question as shown to the learner: no answer, no key points."""

    id: str
    type: str
    question: str
    options: list[str] = Field(default_factory=list)
    difficulty: int
    topics: list[str]
    doc_id: str
    doc_title: str
    reason: str = Field(description="Why this item now, e.g. 'review: box 2, due since 3 Dec' or 'new, difficulty 2'.")


class KeyPointResult(BaseModel):
    point: str
    made: bool
    similarity: float
    phrase_overlap: float
    contradicted: bool = False


class Feedback(BaseModel):
    item_id: str
    correct: bool
    score: float = Field(description="1 or 0 for multiple choice; share of key points made for free text.")
    text: str = Field(description="Feedback to show: what was right, what was missed, the answer and why.")
    answer: str = Field(description="The right option or the model answer.")
    explanation: str
    key_points: list[KeyPointResult] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    difficulty: int = Field(description="The learner's difficulty on the item's first topic after this answer.")
    box: int = Field(description="The item's Leitner box after this answer.")
    due_at: datetime = Field(description="When the item is next due for review.")
    gave_up: bool = Field(False, description="The learner asked for the answer instead of answering.")


class ScenarioView(BaseModel):
    id: str
    title: str
    vignette: str
    question: str
    result: str = Field(description="'positive' when the patient in the vignette was flagged, 'negative' when cleared.")
    estimate_prompt: str = Field(description="The one number the learner is asked to estimate, as a percentage.")
    confidence_prompt: str
    docs: list[str]


class TwoByTwo(BaseModel):
    """Counts out of `population`, rounded to whole people so that rows and columns add up."""

    population: int
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int

    @property
    def flagged(self) -> int:
        return self.true_positive + self.false_positive

    @property
    def cleared(self) -> int:
        return self.false_negative + self.true_negative

    @property
    def with_condition(self) -> int:
        return self.true_positive + self.false_negative

    @property
    def without_condition(self) -> int:
        return self.false_positive + self.true_negative

    def markdown(self, condition: str = "condition") -> str:
        return "\n".join([
            f"| out of {self.population:,} | has the {condition} | does not | total |",
            "|---|---:|---:|---:|",
            f"| AI flags | {self.true_positive:,} (true positive) | {self.false_positive:,} (false positive) | {self.flagged:,} |",
            f"| AI does not flag | {self.false_negative:,} (false negative) | {self.true_negative:,} (true negative) | {self.cleared:,} |",
            f"| total | {self.with_condition:,} | {self.without_condition:,} | {self.population:,} |",
        ])


class ScenarioFeedback(BaseModel):
    scenario_id: str
    sensitivity: float
    specificity: float
    prevalence: float
    ppv: float = Field(description="Exact, from tutor.figures.")
    npv: float = Field(description="Exact, from tutor.figures.")
    target: str = Field(description="'ppv' or 'miss' (the chance the condition is present despite a clear result).")
    true_value: float = Field(description="The true value of what the learner estimated, as a fraction.")
    estimate: float = Field(description="The learner's estimate, as a fraction.")
    confidence: float = Field(description="How sure the learner was that the estimate is right, as a fraction.")
    within_tolerance: bool
    verdict: str = Field(description="'over-trusted', 'under-trusted' or 'well calibrated'.")
    verdict_text: str
    natural_frequencies: str = Field(description="The figures as counts out of 1,000 patients, in words.")
    table: TwoByTwo
    brier: float = Field(description="(confidence - outcome)^2 for this answer; 0 is perfect, 1 is worst.")
    brier_mean: float = Field(description="The learner's mean Brier score over every scenario answered so far.")
    model_answer: str
    teaching_points: list[str]
    citations: list[Citation]


class GlossaryEntry(BaseModel):
    term: str
    definition: str
    doc_id: str
    doc_title: str


class Move(BaseModel):
    """A tutor move after an answer ('explain it another way', 'give me an example'): a cited answer plus extras."""

    kind: str
    answer: Answer
    glossary: list[GlossaryEntry] = Field(default_factory=list)
    scenario: ScenarioView | None = Field(None, description="A calibration scenario that puts the idea to work, if any.")


class TopicMastery(BaseModel):
    topic: str
    mastery: float = Field(description="0 to 1: mean Leitner strength of the best `mastery_items` items on the topic.")
    label: str
    answered: int
    correct: int
    difficulty: int


class ScenarioRecord(BaseModel):
    scenario_id: str
    title: str
    at: datetime
    target: str
    estimate: float
    true_value: float
    confidence: float
    verdict: str
    brier: float


class QuizRecord(BaseModel):
    item_id: str
    at: datetime
    context: str
    doc_id: str
    topics: list[str]
    difficulty: int
    score: float
    correct: bool


class Progress(BaseModel):
    profile: LearnerProfile
    pathway: PathwayView | None
    mastery: list[TopicMastery]
    quiz: list[QuizRecord]
    scenarios: list[ScenarioRecord]
    brier_mean: float | None
    brier_trend: list[float] = Field(description="Running mean Brier score after each scenario, oldest first.")
    minutes_spent: float
    first_active: datetime | None
    last_active: datetime | None
    due_reviews: int
