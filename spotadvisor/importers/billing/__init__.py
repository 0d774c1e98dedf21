"""Billing files -> the ``billing`` table: FOCUS 1.x (``focus``) and AWS CUR (``cur``).

``common`` holds what both share (reading rows as text from CSV or Parquet, spot
detection, tags, row keys, as_of); ``s3`` downloads ``s3://`` paths before they are read.
"""
