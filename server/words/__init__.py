"""Every user-facing word of the server, one file per language: vi.py, en.py."""
