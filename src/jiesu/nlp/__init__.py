"""Text understanding: normalising citizen text and classifying it into categories."""
