"""salesml.rules."""
