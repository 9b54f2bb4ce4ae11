"""Operating a server: backups and restores, and who may read the data folder."""
