"""The expected best validation score after n of N tuning trials (Dodge et al. 2019): the formula by
hand and by brute force, and where two arms' curves change places."""
import itertools

import numpy as np
import pytest

from bench.report.tuning import crossings, expected_best


def test_expected_best_of_n_matches_a_hand_computation_and_ends_near_the_best_trial():
    # Trials 1, 2, 3: best of 1 draw is their mean; best of 2 draws with replacement:
    # P(max = 1) = 1/9, P(max = 2) = 3/9, P(max = 3) = 5/9 → (1 + 6 + 15) / 9 = 22/9.
    curve = expected_best([3.0, 1.0, 2.0], "max")
    assert curve[:2] == [pytest.approx(2.0), pytest.approx(22 / 9)]
    assert curve[0] < curve[1] < curve[2] < 3.0
    # mirrored: the minimum of {1, 2, 3} is 4 − the maximum of {1, 2, 3}
    assert expected_best([3.0, 1.0, 2.0], "min")[:2] == [pytest.approx(2.0), pytest.approx(4 - 22 / 9)]
    assert expected_best([], "max") == []


def test_expected_best_equals_the_average_over_every_draw_of_n_trials():
    values = [0.3, 0.9, 0.5, 0.7]
    for n in (1, 2, 3):
        brute = np.mean([max(draw) for draw in itertools.product(values, repeat=n)])
        assert expected_best(values, "max")[n - 1] == pytest.approx(brute)


def test_curves_that_change_places_are_found_at_the_budget_where_they_do():
    steady, late = [0.50, 0.55, 0.57, 0.58], [0.40, 0.52, 0.60, 0.65]
    assert crossings(steady, late, "max") == [3]
    assert crossings(steady, late, "min") == [3]
    assert crossings(late, [v - 1 for v in late], "max") == []
