"""Fleet-wide interruption events: collect them from the clouds' event services, store
them, and measure interruption rates per pool.

``parse`` holds the pure parsers (EventBridge, Cloud Logging, Activity Log, watch logs),
``sqs``/``gcp_logging``/``azure_monitor`` the clients, ``store`` the table I/O, ``stats``
the rates, ``rates`` their use by the engine, and ``setup`` the AWS plumbing to create.
"""

from spotadvisor.events.parse import FleetEvent, PoisonMessage

__all__ = ["FleetEvent", "PoisonMessage"]
