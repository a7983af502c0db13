"""Service requests: the service catalog, liaisons' request batches, and the requests they file."""
