"""The Grounding dock: Florence-2 detection from text, phrase grounding, shape descriptions."""
