"""NIST TN 1822 Verif.2.6: see sim.verification.cases.nist26."""

from sim.verification.cases import nist26


def test_nist26():
    outcome = nist26()
    assert outcome.status == "pass", outcome.measured
