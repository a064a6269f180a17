"""Everything that leaves the process: the only package that imports the Binance SDK."""
