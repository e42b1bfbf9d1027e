"""NIST TN 1822 Verif.3.3: a familiar exit is preferred."""

from sim.verification.cases import nist33


def test_nist33():
    outcome = nist33()
    assert outcome.status == "pass", outcome.measured
