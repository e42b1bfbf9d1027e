"""Door flow against width (SFPE; Seyfried 2009; Liao 2014): 1.3-2.0 P/(m s), rising."""

from sim.verification.cases import doorflow


def test_doorflow(tmp_path):
    outcome = doorflow(tmp_path)
    assert outcome.status == "pass", outcome.measured
