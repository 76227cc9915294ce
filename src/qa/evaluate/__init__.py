"""Regression evaluation: question sets, metrics, runs, the baseline gate, reports."""
