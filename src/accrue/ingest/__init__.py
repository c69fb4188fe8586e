"""Adapters that read outside data into the domain, with errors that name file, line and field."""
