"""TODO front."""
