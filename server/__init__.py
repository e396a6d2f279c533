"""Vetrina transport: aiohttp app, socket.io gateway, room runners, CLI. The only code that awaits."""
