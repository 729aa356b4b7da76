"""The door for data: recognise an export, read it in chunks, validate rows,
stage them and upsert them into the real tables in one transaction.

``pipeline.ingest_file`` is the one entry point; ``stores.services`` wraps it
with the Upload row, claiming and the rollup refresh.
"""
