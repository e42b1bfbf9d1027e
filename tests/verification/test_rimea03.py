"""RiMEA 3.0 test 3: walking speed down stairs."""

from sim.verification.cases import rimea03


def test_rimea03():
    outcome = rimea03()
    assert outcome.status == "pass", outcome.measured
