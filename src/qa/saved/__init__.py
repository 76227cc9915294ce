"""Saved conversations and feedback: a SQLite file in the data folder (`store`), and its exports (`export`)."""
