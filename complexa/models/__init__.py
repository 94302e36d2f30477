"""Cost models: ``essay`` (the essay's own formulas) and ``exact`` (what a dense network really does)."""
