"""The Region labels dock: the widget, its table, its text on the canvas."""
