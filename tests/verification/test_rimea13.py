"""RiMEA 3.0 test 13 / IMO 11: the queue at the foot of the stair grows."""

from sim.verification.cases import rimea13


def test_rimea13():
    outcome = rimea13()
    assert outcome.status == "documented", outcome.measured
