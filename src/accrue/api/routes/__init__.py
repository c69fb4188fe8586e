"""Routers, one per resource group."""
