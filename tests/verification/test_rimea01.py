"""RiMEA 3.0 test 1: walking speed in a corridor (26-34 s for 40 m at 1.33 m/s)."""

from sim.verification.cases import rimea01


def test_rimea01():
    outcome = rimea01()
    assert outcome.status == "pass", outcome.measured
