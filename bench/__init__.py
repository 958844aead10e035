"""Benchmarks: cold start, warm overhead, concurrency and the dashboard's first load (python -m bench.run)."""
