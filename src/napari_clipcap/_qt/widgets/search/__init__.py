"""The Search collection dock: the widget and its indexing panel."""
