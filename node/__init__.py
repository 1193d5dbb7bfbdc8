"""What every fedchain participant runs: config, identity, chain client, crypto, CLI."""
