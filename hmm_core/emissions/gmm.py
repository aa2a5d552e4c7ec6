"""Placeholder: gmm emission (issue 3)."""
