"""linclass."""
