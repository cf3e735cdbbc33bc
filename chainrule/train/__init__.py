"""chainrule.train (being built)."""
