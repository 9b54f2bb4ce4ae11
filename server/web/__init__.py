"""The server's HTTP side: one FastAPI app (dashboard, API, TUF metadata, blobs)."""
