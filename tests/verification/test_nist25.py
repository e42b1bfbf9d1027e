"""NIST TN 1822 Verif.2.5: see sim.verification.cases.nist25."""

from sim.verification.cases import nist25


def test_nist25():
    outcome = nist25()
    assert outcome.status == "pass", outcome.measured
