"""Transport edges: aiohttp routes and socket.io namespaces. Parse, check who asks, call dialogs/bot."""
