"""The README and the docs pages: their shape, their links, what they claim."""
