"""Backtests: fit before a cutoff, compare with what then happened, beside simple baselines."""
