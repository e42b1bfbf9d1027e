"""NIST TN 1822 Verif.2.10: one slower occupant lengthens the evacuation."""

from sim.verification.cases import nist210


def test_nist210():
    outcome = nist210()
    assert outcome.status == "pass", outcome.measured
