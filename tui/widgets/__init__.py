"""The app's widgets, one per module; each renders part of a ``RunState``."""
