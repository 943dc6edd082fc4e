"""The app's screens: the main view, the details view and the key help."""
