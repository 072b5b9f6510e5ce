"""salesml.attribution."""
