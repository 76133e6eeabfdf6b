"""The analytics engine: Ibis expressions over point-in-time sources (no Django imports here)."""
