"""The `qa` command: a thin shell over the library (see `qa.cli.main`)."""
