"""The odds history store."""
