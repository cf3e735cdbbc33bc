"""chainrule.optim (being built)."""
