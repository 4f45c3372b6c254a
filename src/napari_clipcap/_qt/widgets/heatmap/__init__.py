"""The Text heatmap dock: the widget, its options, its result layers."""
