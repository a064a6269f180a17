"""Pure domain types every package may import (no I/O, no SDK, no wire format)."""
