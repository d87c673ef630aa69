"""One module per section a run records. Capture reads the world; it never writes to git."""
