"""Where a briefing quotes output a training cluster cannot show, a note says what the team sees, in both
languages: a note in one language only would tell Korean and English readers different things."""

from __future__ import annotations

import pytest

from bot.challenges.catalog import Scenario
from tests.scenarios.test_catalogue_behaviour import CATALOG

KO_NOTE = "(실습 클러스터 안내)"
EN_NOTE = "(Training cluster note)"

ALL = [
    pytest.param(scenario, id=f"{challenge.id}-{scenario.id}")
    for challenge in CATALOG
    for scenario in challenge.scenarios
]


@pytest.mark.parametrize("scenario", ALL)
def test_a_training_cluster_note_is_given_in_both_languages(scenario: Scenario) -> None:
    symptoms = scenario.spec.symptoms
    assert symptoms.ko.count(KO_NOTE) == symptoms.en.count(EN_NOTE)


def test_the_scenarios_whose_seed_output_a_kind_cluster_cannot_show_carry_a_note() -> None:
    noted = {
        (challenge.id, scenario.id)
        for challenge in CATALOG
        for scenario in challenge.scenarios
        if KO_NOTE in scenario.spec.symptoms.ko
    }
    assert noted == {
        (1, "control-plane"),
        (1, "order-service"),
        (2, "unschedulable"),
        (2, "rolling-update"),
        (2, "node-affinity"),
        (21, "unschedulable"),
        (21, "rolling-update"),
        (21, "node-affinity"),
        (21, "node-exhausted"),
        (5, "traffic-spike"),
        (5, "monitoring"),
        (5, "autoscaling-conflict"),
    }
