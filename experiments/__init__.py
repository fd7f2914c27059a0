"""Scripts people launch: thin wrappers that parse arguments, call the library, write results."""
