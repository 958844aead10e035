"""Local stand-ins for the cloud services the product talks to (PostgreSQL as Supabase's, PostgREST)."""
