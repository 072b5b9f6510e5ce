"""salesml.capability."""
