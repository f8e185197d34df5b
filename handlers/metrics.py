"""Prometheus figures for this process, kept in the app's own registry (no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.supervision import Dashboard

HEALTH_LEVELS = {"green": 0, "amber": 1, "red": 2}


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

        # Live figures of the whole service (read from the database, the same snapshot supervisors see);
        # refreshed after every queue change and every few seconds by the dashboard pusher.
        self.queue_waiting = Gauge("haven_queue_waiting", "Children waiting for a counsellor", registry=self.registry)
        self.queue_longest_wait = Gauge(
            "haven_queue_longest_wait_seconds", "How long the longest-waiting child has waited", registry=self.registry)
        self.queue_high_risk = Gauge(
            "haven_queue_high_risk_waiting", "High-risk children waiting for a counsellor", registry=self.registry)
        self.counsellors = Gauge(
            "haven_counsellors", "Counsellors by presence (online = available + busy + away)", ["presence"],
            registry=self.registry)
        self.active_chats = Gauge("haven_active_chats", "Chats a counsellor holds now", registry=self.registry)
        self.high_risk_chats = Gauge(
            "haven_high_risk_chats", "High-risk chats a counsellor holds now", registry=self.registry)
        self.queue_health = Gauge(
            "haven_queue_health", "Queue health traffic light: 0 green, 1 amber, 2 red", registry=self.registry)

    def set_live(self, snapshot: Dashboard) -> None:
        counts = snapshot.counts()
        self.queue_waiting.set(counts["waiting"])
        self.queue_longest_wait.set(snapshot.longest_wait_seconds)
        self.queue_high_risk.set(counts["high_risk_waiting"])
        for presence in ("online", "available", "busy", "away"):
            self.counsellors.labels(presence).set(counts[presence])
        self.active_chats.set(counts["active_chats"])
        self.high_risk_chats.set(counts["high_risk_chats"])
        self.queue_health.set(HEALTH_LEVELS[snapshot.health.light])

    def render(self) -> bytes:
        return generate_latest(self.registry)
