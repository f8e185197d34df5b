"""The web layer: create_app() wires settings, storage, dialogs and transports together."""
