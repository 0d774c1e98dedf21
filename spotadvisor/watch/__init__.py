"""Termination notices: the watch agent and the metadata mock."""
