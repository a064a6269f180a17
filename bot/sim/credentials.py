"""The simulator's fixed API key and secret: the only credentials it accepts.

A module of its own so that a bot talking to a standalone simulator can sign
requests without importing the simulator itself.
"""

SIM_API_KEY = "sim-api-key"
SIM_API_SECRET = "sim-api-secret"
