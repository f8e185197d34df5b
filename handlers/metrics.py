"""Prometheus figures for this process, kept in the app's own registry (no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "haven_http_requests_total", "HTTP requests by route and status", ["route", "status"],
            registry=self.registry)
        self.sockets = Gauge(
            "haven_connected_sockets", "Connected socket.io clients by namespace", ["namespace"],
            registry=self.registry)
        self.messages = Counter(
            "haven_messages_total", "Chat messages stored, by sender", ["sender"], registry=self.registry)
        self.sign_ins = Counter(
            "haven_sign_ins_total", "Sign-in attempts by result", ["result"], registry=self.registry)
        self.step_seconds = Histogram(
            "haven_dialog_step_seconds", "Time to store and answer one child message", registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))

    def render(self) -> bytes:
        return generate_latest(self.registry)
