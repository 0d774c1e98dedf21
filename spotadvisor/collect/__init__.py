"""Collectors: pull fresh data from cloud APIs into the store.

Each collector is a thin ``get_*`` over the cloud SDK (imported inside the function,
so a user without that SDK can still use the rest) and a pure ``parse_*`` that turns
responses into canonical rows. ``run`` executes them in parallel and reports what
succeeded and what failed.
"""
