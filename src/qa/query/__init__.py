"""Understanding the question: validation, follow-ups and conversations, retrieval."""
