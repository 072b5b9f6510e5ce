"""salesml.pipeline."""
