"""Patent module 1: the hospital's electronic medical record (EMR) library."""
