"""The offline Kwiff simulator."""
