"""salesml.ops."""
