"""Versioned API blueprints."""
