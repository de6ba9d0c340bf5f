"""The knowledge base (政策知识库): articles, their search, consultations and self-service."""
