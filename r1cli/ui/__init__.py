"""Rendering: consoles, result views and the live training dashboard. Training never imports this."""
