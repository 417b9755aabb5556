"""The ``modelward`` command line: Typer commands over the Python API."""
