"""Optional control over Telegram: a few operator commands from allow-listed chats.

``api`` speaks the Bot API (the token lives in the URL path, so nothing it raises
carries a URL), ``control`` is the owned long-polling thread with the allow-list,
audit and the ``/flatten`` confirmation, ``actions`` does each command through the
same paths as the command line.
"""
