"""Spaced repetition (Leitner boxes), the adaptive difficulty staircase and mastery: pure functions, no clock of their own.

Leitner boxes: every quiz item a learner has answered sits in one of five boxes. A correct answer moves it up one
box (at most box 5); a miss sends it back to box 1. The item is due again after the days configured for its new box,
`settings.learning.leitner_days` = [1, 3, 7, 14, 30] by default: a missed item comes back tomorrow, an item answered
correctly five times running comes back in a month.

Difficulty staircase (per learner and topic): the level starts from the learner's self-rated level (1 -> 1, 2 or 3
-> 2, 4 -> 3), goes up one after `raise_after` (2) correct answers in a row and down one after `lower_after` (1)
miss, within 1 (recall) to 3 (application). Two-up/one-down converges on items the learner gets right about 70% of
the time: hard enough to learn from, easy enough not to discourage.

Mastery of a topic: each item's strength is 0 if unseen or in box 1, then 0.25, 0.5, 0.75, 1 for boxes 2-5; a
topic's mastery is the mean strength of the learner's best `mastery_items` (5) items on it (all of them if it has
fewer). So mastery needs answers that stay right over spaced reviews, not one lucky session.
"""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_BOX = 5
MIN_LEVEL, MAX_LEVEL = 1, 3
STRENGTH = {1: 0.0, 2: 0.25, 3: 0.5, 4: 0.75, 5: 1.0}


def next_box(box: int | None, correct: bool) -> int:
    """The Leitner box after an answer; `box` is None for an item never answered before."""
    return min((box or 1) + 1, MAX_BOX) if correct else 1


def due_after(box: int, answered_at: datetime, leitner_days: list[int]) -> datetime:
    """When an item in `box` answered at `answered_at` is due again."""
    days = leitner_days[min(box, len(leitner_days)) - 1]
    return answered_at + timedelta(days=days)


def starting_level(self_rated: int) -> int:
    """Map the self-rated level (1-4) to a starting item difficulty (1-3)."""
    return {1: 1, 2: 2, 3: 2, 4: 3}.get(self_rated, 1)


def next_level(level: int, streak_correct: int, streak_missed: int, correct: bool,
               raise_after: int, lower_after: int) -> tuple[int, int, int]:
    """Apply one answer to (level, correct in a row, missed in a row); return the new triple."""
    if correct:
        streak_correct, streak_missed = streak_correct + 1, 0
        if streak_correct >= raise_after and level < MAX_LEVEL:
            return level + 1, 0, 0
    else:
        streak_correct, streak_missed = 0, streak_missed + 1
        if streak_missed >= lower_after and level > MIN_LEVEL:
            return level - 1, 0, 0
    return level, streak_correct, streak_missed


def topic_mastery(item_ids: list[str], boxes: dict[str, int], best_of: int) -> float:
    """Mean strength of the best `best_of` items (or all, if fewer) of a topic; 0 for a topic with no items."""
    if not item_ids:
        return 0.0
    strengths = sorted((STRENGTH.get(boxes.get(i, 1), 0.0) for i in item_ids), reverse=True)
    counted = strengths[: max(1, min(best_of, len(strengths)))]
    return sum(counted) / len(counted)


def mastery_label(mastery: float, answered: int) -> str:
    if answered == 0:
        return "not started"
    if mastery >= 0.75:
        return "secure"
    if mastery >= 0.4:
        return "developing"
    return "started"


def minutes_spent(times: list[datetime], idle_minutes: float) -> float:
    """Time on task estimated from action times: each gap counts, capped at `idle_minutes` (a break is not study)."""
    total = 0.0
    for earlier, later in zip(times, times[1:]):
        total += min((later - earlier).total_seconds() / 60, idle_minutes)
    return round(total, 1)
