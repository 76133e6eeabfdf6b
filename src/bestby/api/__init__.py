"""The REST API (Django Ninja) at /api/, with hashed, revocable bearer tokens."""
