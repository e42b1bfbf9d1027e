"""RiMEA 3.0 test 6 / IMO 6 / NIST 2.3: round a corner without passing through walls."""

from sim.verification.cases import rimea06


def test_rimea06():
    outcome = rimea06()
    assert outcome.status == "pass", outcome.measured
