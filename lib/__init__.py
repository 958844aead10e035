"""Shared code for the Vercel functions: settings, access, errors, OpenAI and HTTP helpers."""
