"""Placeholder: gmm model (issue 3)."""
