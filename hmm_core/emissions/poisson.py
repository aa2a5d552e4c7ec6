"""Placeholder: poisson emission (issue 3)."""
