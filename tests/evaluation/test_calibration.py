"""Calibration: the reliability table, ECE and Brier on known cases; the model's fit, its JSON
round trip, and the shipped parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest

from meta_agent.evaluation import calibration, rootcause
from meta_agent.evaluation.calibration import RootCauseModel
from meta_agent.store.schema_evaluation import FINDING_CATEGORIES


def test_perfectly_calibrated_confidence_has_zero_ece():
    conf = [0.8] * 10 + [0.3] * 10
    ok = [True] * 8 + [False] * 2 + [True] * 3 + [False] * 7
    assert calibration.expected_calibration_error(conf, ok) == pytest.approx(0.0)
    table = calibration.reliability_table(conf, ok)
    assert [r["n"] for r in table if r["n"]] == [10, 10]
    assert next(r for r in table if r["lo"] == 0.8)["accuracy"] == pytest.approx(0.8)


def test_overconfidence_shows_as_ece():
    assert calibration.expected_calibration_error([0.99] * 10, [True] * 5 + [False] * 5) == pytest.approx(0.49)
    assert calibration.expected_calibration_error([], []) == 0.0
    # confidence 1.0 falls in the last bin, not off the table
    assert calibration.reliability_table([1.0], [True])[-1]["n"] == 1


def test_brier_score():
    assert calibration.brier_score(np.array([[1.0, 0.0], [0.0, 1.0]]), [0, 1]) == 0.0
    assert calibration.brier_score(np.array([[0.0, 1.0]]), [0]) == pytest.approx(2.0)
    assert calibration.brier_score(np.array([[0.5, 0.5]]), [0]) == pytest.approx(0.5)


def test_fit_learns_and_round_trips_through_json(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    y = np.where(x[:, 0] > 0.5, "a", np.where(x[:, 1] > 0, "b", "c")).tolist()
    m = calibration.fit(x, y, ("f0", "f1"), ("a", "b", "c", "d"))
    p = m.proba_matrix(x)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert np.mean(np.array(m.classes)[p.argmax(axis=1)] == np.array(y)) > 0.9
    assert p[:, 3].max() < 1e-6  # a class never seen is never predicted
    path = tmp_path / "m.json"
    m.save(path)
    back = RootCauseModel.load(path)
    assert np.allclose(back.proba_matrix(x), p, atol=1e-6)
    again = calibration.fit(x, y, ("f0", "f1"), ("a", "b", "c", "d"))
    assert json.dumps(again.to_dict()) == json.dumps(m.to_dict())  # deterministic


def test_predict_proba_ignores_unknown_and_missing_features():
    m = rootcause.rule_model()
    p = m.predict_proba({"err_external": 1.0, "agents": 1.0, "not_a_feature": 5})
    assert set(p) == set(FINDING_CATEGORIES) and sum(p.values()) == pytest.approx(1.0)
    assert max(p, key=p.get) == "external"
    assert max(m.predict_proba({}).items(), key=lambda kv: kv[1])[0] == "unknown"


def test_the_shipped_model_matches_the_features():
    assert calibration.MODEL_PATH.exists()
    m = RootCauseModel.load(calibration.MODEL_PATH)
    assert m.features == rootcause.FEATURES and m.classes == FINDING_CATEGORIES
    assert m.source == "fitted" and m.info["examples"] > 100
    assert "unknown" in m.info["classes_seen"]  # background-only windows teach it what noise looks like
    assert not set(m.info["seeds"]) & {201, 202, 203}  # the held-out seeds stay held out
    assert rootcause.shipped_model().source == "fitted"
