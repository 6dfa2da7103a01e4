"""Churn: when, who and why customers leave (notebook 04)."""
