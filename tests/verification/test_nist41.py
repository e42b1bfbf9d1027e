"""NIST TN 1822 Verif.4.1: an exit closed at t = 1 s: the occupant leaves by the other."""

from sim.verification.cases import nist41


def test_nist41():
    outcome = nist41()
    assert outcome.status == "pass", outcome.measured
