"""Evaluation: metrics, reports and the leakage audit of the synthetic market."""
