"""The auditor: rebuilds rounds, contributions and rewards from the ledger and verifies them against the blob store."""
