"""The item pipelines: alerts and the odds history."""
