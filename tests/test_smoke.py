"""The ask path end to end on the fixture corpus with the real model."""


def test_fixture_tutor_answers_with_a_citation(fixture_tutor):
    answer = fixture_tutor.ask("What is automation bias?")
    assert not answer.abstained
    assert answer.citations and answer.citations[0].doc_id == "automation-bias"
    assert "[1]" in answer.answer
