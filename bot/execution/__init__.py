"""Turning signals into orders: sizing, brackets, the order manager, the paper executor."""
