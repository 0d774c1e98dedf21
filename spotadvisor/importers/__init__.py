"""Importers for public files: one module per format, the registry in ``registry``.

Kept empty so that importing ``importers.base`` (as the store does) does not load every
format module.
"""
