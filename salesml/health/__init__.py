"""salesml.health."""
