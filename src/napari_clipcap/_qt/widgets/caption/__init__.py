"""The Caption dock: the widget, its results table, decoding controls, word relevance."""
