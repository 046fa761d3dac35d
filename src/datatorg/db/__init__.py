"""Control-plane database: engine, sessions, base classes and migrations."""
