"""The connection layer: sessions, pools, the connector, proxies, the async client."""
