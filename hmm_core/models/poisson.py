"""Placeholder: poisson model (issue 3)."""
