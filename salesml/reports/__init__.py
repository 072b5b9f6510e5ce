"""salesml.reports."""
