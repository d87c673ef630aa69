"""Everything that reads or writes git objects, refs and the mirror lives in this package."""
