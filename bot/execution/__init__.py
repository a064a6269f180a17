"""Turning signals into orders: sizing, brackets, the order manager, the position guard."""
