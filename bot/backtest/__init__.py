"""The backtest: the unchanged bot trading the exchange engine replaying historical candles."""
