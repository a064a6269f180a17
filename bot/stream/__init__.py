"""User-data stream supervision: listenKey, websocket, reconnects, REST fallback."""
