"""RiMEA 3.0 test 5 / IMO 5: each person starts at its pre-movement time."""

from sim.verification.cases import rimea05


def test_rimea05():
    outcome = rimea05()
    assert outcome.status == "pass", outcome.measured
