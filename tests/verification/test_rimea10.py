"""RiMEA 3.0 test 10 / IMO 10 / NIST 3.1: everyone uses the assigned exit."""

from sim.verification.cases import rimea10


def test_rimea10():
    outcome = rimea10()
    assert outcome.status == "pass", outcome.measured
