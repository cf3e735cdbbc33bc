"""chainrule.data (being built)."""
