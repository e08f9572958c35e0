"""The spiders, the watch among them, and the README's examples."""
