"""The `fedchain` command line."""
