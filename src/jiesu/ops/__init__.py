"""Operating an installation: backups and restore, and one runner at a time for scheduled jobs."""
