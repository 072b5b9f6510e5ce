"""salesml.apps."""
