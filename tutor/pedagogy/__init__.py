"""The tutoring engine: learner profiles, pathways, adaptive quizzes with spaced repetition, understanding checks,
"explain it another way" and "give me an example", calibration scenarios, progress and CPD export. No LLM.

Build it with `tutor.builder.build_learning(settings, tutor=...)`; the app and `tutor learn` both call the same
`LearningEngine`. Every method has a docstring; the main ones:

    engine.create_profile(group, archetypes, level)     -> LearnerProfile (pseudonymous learner_id)
    engine.pathway(learner)                              -> PathwayView (steps, done, next_step)
    engine.next_quiz_item(learner, topic=None)           -> QuizItemView | None
    engine.grade(learner, item_id, reply)                -> Feedback (correct, score, text, citations, box, due_at)
    engine.check_question_for(answer, learner)           -> QuizItemView | None   (after a Tutor answer)
    engine.explain_another_way(answer) / give_example(answer) -> Move (a cited Answer, glossary, scenario)
    engine.scenario(id)                                  -> ScenarioView (vignette, question, what to estimate)
    engine.judge_scenario(learner, id, estimate, confidence) -> ScenarioFeedback
    engine.progress(learner)                             -> Progress
    engine.export_cpd(learner, folder)                   -> (Markdown path, CSV path)

Learner data: one SQLite file (settings.paths.learner_db). A learner is a pseudonymous id (`learner-` and 8 hex
digits, or a chosen id that may not contain a long number) with a professional group, capability framework
archetypes and a self-rated level 1-4. No name or email is asked for. Free-text replies are graded and discarded;
only item ids, scores and times are stored.

Quizzes. Only `status: approved` items (corpus/quiz/*.yaml) on approved documents are served. The next item is:
  1. an item due for review, the longest overdue first;
  2. otherwise a new item: on the chosen topic, or else on the next unfinished pathway step's document, at the
     difficulty nearest the learner's level on the item's topic.
Spaced repetition uses five Leitner boxes. A correct answer moves an item up one box, a miss sends it back to box
1; the item is next due after `learning.leitner_days` for its box: 1, 3, 7, 14, 30 days. Difficulty adapts per
topic by a two-up/one-down staircase between 1 (recall) and 3 (application): two correct answers in a row raise
it, one miss lowers it. The self-rated level sets the start (1 -> 1, 2-3 -> 2, 4 -> 3). Mastery of a topic is the
mean Leitner strength (box 1: 0, 2: 0.25, 3: 0.5, 4: 0.75, 5: 1) of the learner's best five items on it. See
tutor.pedagogy.schedule.

Free-text grading compares each clause of the reply with each key point on the bundled embedding model and on key
phrases, and does not credit a clause that negates a point (tutor.pedagogy.grading). Feedback names the points made
and missed, gives the model answer and explanation, and cites the exact passage of the document behind the item.
A reply such as "I don't know" gets the answer straight away: a busy professional is never kept from it.

Calibration scenarios (corpus/scenarios/*.yaml) ask for one estimate: the chance that a flag is right (PPV) when
the patient was flagged, or the chance the patient has the condition anyway when cleared (1 - NPV). The engine
computes PPV and NPV exactly with tutor.figures, tells the figures as natural frequencies out of 1,000 patients
with a 2x2 table, gives an over-trusted / under-trusted / well calibrated verdict (5 percentage points either way
is well calibrated), cites the scenario's documents, and keeps the Brier score of the learner's stated confidence
over time. See tutor.pedagogy.calibration.
"""

from tutor.pedagogy.content import UnknownItemError
from tutor.pedagogy.engine import LearningEngine, TutorRequiredError, UnknownLearnerError
from tutor.pedagogy.models import (
    ARCHETYPES, LEVELS, PROFESSIONAL_GROUPS, Feedback, GlossaryEntry, KeyPointResult, LearnerProfile, Move,
    PathwayView, Progress, QuizItemView, ScenarioFeedback, ScenarioView, StepView, TopicMastery, TwoByTwo,
)

__all__ = [
    "ARCHETYPES", "LEVELS", "PROFESSIONAL_GROUPS", "Feedback", "GlossaryEntry", "KeyPointResult", "LearnerProfile",
    "LearningEngine", "Move", "PathwayView", "Progress", "QuizItemView", "ScenarioFeedback", "ScenarioView",
    "StepView", "TopicMastery", "TutorRequiredError", "TwoByTwo", "UnknownItemError", "UnknownLearnerError",
]
