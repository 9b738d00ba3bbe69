"""Training's lab: measurements of what fine-tuning buys (`python -m training compare`).

The product side of `training` builds data and adapters; this package only measures them and
is never imported by it (the command line dispatches here).
"""
