"""Content packs: lint and build sources, sign and publish them (TUF)."""
