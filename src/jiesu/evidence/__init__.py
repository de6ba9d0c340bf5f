"""Evidence files (photos and documents) on requests, replies and call-backs (decision 0014)."""
