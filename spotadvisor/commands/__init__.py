"""Typer commands: parse options, call one library function, render, map errors to exit codes."""
