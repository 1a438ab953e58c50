"""`make bench`: reproducible production figures (see bench/run.py and README)."""
