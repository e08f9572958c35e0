"""The data model: parsing answers into items, comparing snapshots."""
