"""Tally's benchmark suite: `python -m bench --scale small|full` (what `make bench` runs).

Four scenarios, each reported as a ratio against a limit measured in the same run on the same
data, because absolute timings on shared machines drift:

- ingest: generations posted over real HTTP to a gunicorn server, against psycopg COPY of the
  same rows into the same table;
- reconciliation: pending generations looked up by a real Celery worker against the gateway
  simulator, against what a perfect client could do within the gateways' concurrency and rate;
- period close: `close_period` for a month, against one raw SQL GROUP BY over the same rows;
- spend page: a key's page on a big table, p50 and p95 server time (the limit is the 100 ms target).

Results are printed as a table and written to var/bench/results.json.
"""
