"""chainrule.datasets (being built)."""
