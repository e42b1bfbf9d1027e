"""The drillsim trainer: a Pygame app that replays run records.

It reads run records (``drillsim.record/1``) with numpy and json only and never imports the
simulation: the record format is the contract between them.
"""
