"""Free-text grading with the real bundled model, against replies marked by hand.

DEVELOPMENT replies were used to set the thresholds in LearningSettings; HELD_OUT replies were written afterwards
for other items and never tuned on. Each reply is marked per key point (1 = a marker would credit the point).
"""

from __future__ import annotations

import pytest

from conftest import REAL_CORPUS
from tutor.corpus import load_corpus, strip_lines
from tutor.pedagogy.grading import closest_option, gave_up, grade_key_points, score_of
from tutor.settings import LearningSettings

DEVELOPMENT = [
    ('qa-003', 'More confidence is not always better. Confidence should match how reliable the tool really is in that situation, and sometimes doubting it is the right call. You should weigh the AI output alongside the rest of the clinical picture.',
     [1, 1, 1, 1]),
    ('qa-003', 'Confidence should be matched to how accurate the tool actually is.',
     [0, 1, 0, 0]),
    ('qa-003', 'Because the team might not like the tool and it costs a lot of money.',
     [0, 0, 0, 0]),
    ('qa-003', 'High confidence in AI output is not automatically a good thing; you still have to weigh it against the other clinical information.',
     [1, 0, 0, 1]),
    ('qa-004', 'Too little confidence wastes resources and makes workflows inefficient. Patients could get worse care, and the benefits of AI may be shared unequally.',
     [1, 1, 1, 1]),
    ('qa-004', 'Money and staff time get wasted and the workflow becomes clunky.',
     [1, 1, 0, 0]),
    ('qa-004', 'Staff might trust the AI too much and follow its mistakes.',
     [0, 0, 0, 0]),
    ('qb-003', 'A study of 92 radiologists making 2,760 decisions showed they followed wrong AI suggestions as well as right ones, and giving explanations hardly reduced the effect of wrong suggestions.',
     [1, 1, 1]),
    ('qb-003', 'Clinicians still follow incorrect AI advice even when an explanation is shown.',
     [0, 1, 1]),
    ('qb-003', 'Explanations take too long to read.',
     [0, 0, 0]),
    ('qb-004', "It is not just trainees: experienced clinicians are affected too. In the mammography study wrong suggestions cut accuracy even for radiologists with over 15 years' experience, and the knee MRI study found bias at all levels of expertise.",
     [1, 1, 1]),
    ('qb-004', 'Experienced clinicians are not affected by automation bias, only trainees are.',
     [0, 0, 0]),
    ('qb-004', 'I would tell them that senior doctors fall for it as well as juniors.',
     [1, 0, 0]),
    ('qa-017', 'The nurse is a User. HEE says everyone should get basic AI training, users need extra specialist training, and they need training on the specific product.',
     [1, 1, 1, 1]),
    ('qa-017', 'They are a Driver and need no training.',
     [0, 0, 0, 0]),
    ('qa-017', 'A user of AI. They should get foundational training like all staff.',
     [1, 1, 0, 0]),
    ('qb-015', 'It was a retrospective observational study, so it can only show an association and not causation.',
     [1, 1, 0]),
    ('qb-015', 'The sample was too small.',
     [0, 0, 0]),
    ('qb-027', "Base-rate neglect is ignoring how common the condition is, so you judge a positive result only by the test's accuracy and overestimate the chance of disease when prevalence is low.",
     [1, 1, 1]),
    ('qb-027', 'It is when you forget the prevalence.',
     [0, 1, 0]),
    ('qb-027', 'It means the test is biased against some groups.',
     [0, 0, 0]),
    ('qb-043', 'This could be dataset shift caused by the new IT system. I should report it through the incident route and our AI governance group, because clinicians are usually the ones who spot and report these problems.',
     [1, 1, 1]),
    ('qb-043', 'Probably just a glitch, ignore it and carry on.',
     [0, 0, 0]),
    ('qb-043', 'It might be dataset shift, so report it.',
     [1, 0, 1]),
    ('qc-015', 'The Airlock is a regulatory sandbox, not an approval or shortcut to market. The product still needs normal regulatory approval and evidence, so check it has a UKCA or CE mark before using it.',
     [1, 1, 1]),
    ('qc-015', 'Great, the Airlock means the MHRA has approved it, so we can use it.',
     [0, 0, 0]),
    ('qd-011', '85% said their employer had not encouraged it, only 3% said it was prohibited and 95% had no training.',
     [1, 1, 1]),
    ('qd-011', 'Most GPs had been trained by their employers.',
     [0, 0, 0]),
    ('qa-051', 'Fewer than 2% of listed devices had randomised trials behind them and most came through the 510(k) route based on equivalence, so you should ask what evidence supports it and whether it was tested on patients like yours.',
     [1, 1, 1]),
    ('qa-051', 'Because the FDA list is American.',
     [0, 0, 0]),
]

HELD_OUT = [
    ('qb-042', 'Technology changes like switching to a new software supplier, changes in the patient population or setting such as different demographics, and changes in behaviour for example new payment incentives.',
     [1, 1, 1]),
    ('qb-042', 'New scanners and new patients.',
     [1, 1, 0]),
    ('qb-042', 'Overfitting, bias and hallucination.',
     [0, 0, 0]),
    ('qa-043', 'It is generative AI that can take several kinds of input like text and images, and produce a different kind of output. It mimics how humans communicate and can do tasks it was never specifically trained for.',
     [1, 1, 1, 1]),
    ('qa-043', 'A very big chatbot that only works with text.',
     [0, 0, 0, 0]),
    ('qc-061', 'They had to tell people about the automated decision, give them an easy way to ask for a human to step in or challenge it, and check regularly that the system works as intended.',
     [1, 1, 1]),
    ('qc-061', 'They had to get consent from everyone.',
     [0, 0, 0]),
    ('qa-025', "'You must' is a legal or ethical duty; 'you should' is a duty that might not apply in every situation, and sometimes can't be met because of things outside the doctor's control.",
     [1, 1, 1]),
    ('qa-025', 'They mean the same thing.',
     [0, 0, 0]),
    ('qa-026', 'Biased or incomplete data going in, decisions that are opaque, doctors losing skills by relying on AI too much, and risks to confidentiality and consent.',
     [1, 1, 1, 1]),
    ('qa-026', 'That AI is expensive.',
     [0, 0, 0, 0]),
    ('qa-033', 'Regulation, quality assurance, training and development, and engagement and partnership working.',
     [1, 1, 1, 1]),
    ('qa-033', 'Research and funding.',
     [0, 0, 0, 0]),
    ('qb-060', 'Design devices together with diverse patients and the public, set up an academy on equity in AI, fund regulators for the long term, and get ready for foundation models and generative AI.',
     [1, 1, 1, 1]),
]


@pytest.fixture(scope="module")
def items():
    return {q["id"]: strip_lines(q) for q in load_corpus(REAL_CORPUS).quiz}


def agreement(rows, items, embedder):
    settings = LearningSettings()
    agree = credited_wrongly = total = verdicts_agree = 0
    for item_id, reply, labels in rows:
        item = items[item_id]
        results = grade_key_points(reply, item["key_points"], embedder, settings, question=item["question"])
        assert len(results) == len(labels), item_id
        for result, label in zip(results, labels):
            total += 1
            agree += result.made == bool(label)
            credited_wrongly += result.made and not label
        verdicts_agree += (score_of(results) >= settings.pass_mark) == (sum(labels) / len(labels) >= settings.pass_mark)
    return agree, credited_wrongly, total, verdicts_agree


def test_grading_agrees_with_the_marker_on_the_development_replies(items, real_embedder):
    agree, credited_wrongly, total, verdicts = agreement(DEVELOPMENT, items, real_embedder)
    assert total == 100
    assert agree >= 94 and credited_wrongly == 0
    assert verdicts >= 28  # of 30 pass/fail decisions


def test_grading_agrees_with_the_marker_on_held_out_replies(items, real_embedder):
    agree, credited_wrongly, total, verdicts = agreement(HELD_OUT, items, real_embedder)
    assert total == 49
    assert agree >= 46 and credited_wrongly <= 1
    assert verdicts >= 13  # of 14


def test_a_reply_that_negates_a_key_point_is_flagged_not_credited(items, real_embedder):
    item = items["qb-004"]
    results = grade_key_points("Experienced clinicians are not affected by automation bias, only trainees are.",
                               item["key_points"], real_embedder, LearningSettings(), question=item["question"])
    assert not results[0].made and results[0].contradicted


def test_a_multiple_choice_item_can_be_answered_in_your_own_words(items, real_embedder):
    item = items["qb-001"]
    settings = LearningSettings()
    own_words = "It is when people go along with a computer's suggestion without thinking critically enough about it."
    assert closest_option(own_words, item["options"], real_embedder, settings, item["question"]) == item["answer"]
    distrust = "Not wanting to use AI at all because you distrust technology."
    assert closest_option(distrust, item["options"], real_embedder, settings, item["question"]) != item["answer"]


@pytest.mark.parametrize("reply", ["", "  ", "I don't know", "i dont know.", "not sure", "Show me the answer",
                                   "just tell me the answer", "pass", "?"])
def test_asking_for_the_answer_is_recognised(reply):
    assert gave_up(reply)


@pytest.mark.parametrize("reply", ["I don't know whether it was 92 radiologists", "Pass the results to a human"])
def test_real_replies_are_not_mistaken_for_giving_up(reply):
    assert not gave_up(reply)
