"""NIST TN 1822 Verif.2.4: represented speeds match the assigned distribution."""

from sim.verification.cases import nist24


def test_nist24():
    outcome = nist24()
    assert outcome.status == "pass", outcome.measured
