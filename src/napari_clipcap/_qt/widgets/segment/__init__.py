"""The Segment dock: every instance of a phrase as a Labels layer and a table."""
