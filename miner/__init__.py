"""Miner: verifies encrypted updates, records them on chain, aggregates and decrypts totals."""
