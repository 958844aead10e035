"""Local development tools: the dev server and the offline OpenAI stand-in (never deployed)."""
