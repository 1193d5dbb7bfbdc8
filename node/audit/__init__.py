"""The auditor: rebuilds rounds, contributions and rewards from the ledger; checks the blobs."""
