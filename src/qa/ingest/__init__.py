"""Building the index: load and clean files, find the clause structure, embed, store."""
