"""``spotadvisor gate``: the CI cost-and-risk gate.

``policy`` reads the thresholds (file and flags), ``rules`` judges a plan against them
(pure), ``run`` loads the plan and its baseline (a file or the same path at a git ref),
simulates both with common random numbers and a fixed seed, and compares them.
"""
