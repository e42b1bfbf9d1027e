"""NIST TN 1822 Verif.1.1: pre-movement times fit their distributions (KS)."""

from sim.verification.cases import nist11


def test_nist11():
    outcome = nist11()
    assert outcome.status == "pass", outcome.measured
