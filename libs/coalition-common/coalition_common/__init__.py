"""Cross-cutting code for the coalition platform. Holds no domain logic."""
