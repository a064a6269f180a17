"""Order management: typed user-data events, trading state, reconciliation, consumer."""
