"""Database access: engine, schema (current shape) and the migration runner."""
