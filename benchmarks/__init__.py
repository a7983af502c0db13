"""Load benchmarks: `make bench` (or `.venv/bin/python -m benchmarks`) prints figures, never pass/fail.

The run builds a throwaway instance (fresh SQLite database, demo users), serves it with gunicorn
on 127.0.0.1 next to a bare Flask app used as the reference, logs in as the demo coordinator and
liaison, drives a bounded load at a few pages with wrk (or a small threaded client when wrk is
missing) and prints requests/s and latency percentiles. Everything it starts is stopped and
every file it writes is removed when it ends, on error too.
"""
