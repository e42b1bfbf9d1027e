"""NIST TN 1822 Verif.5.2: flow never above the model's stated maximum."""

from sim.verification.cases import nist52


def test_nist52():
    outcome = nist52()
    assert outcome.status == "pass", outcome.measured
