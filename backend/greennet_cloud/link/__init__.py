"""The HA link (docs/cloud-link.md): the websocket a Home Assistant hub keeps to the cloud,
and remote commands routed to whichever process holds it.

- `messages`: protocol v1, every message parsed and checked here and nowhere else;
- `hub`: what the cloud does with a hub's messages (devices, telemetry, state), no websocket;
- `connection`: one hub's websocket (hello, keep-alive, ordering, pending commands);
- `node`: this process's live links, their rows in `live_links`, and the bus between nodes;
- `remote`: remote commands from the API, their routing and their audit trail.
"""
