"""The app's four panels, one module each."""
