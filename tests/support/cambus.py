"""What cam-bus reads from the backend, for the tests of publishing to it."""

# Exactly what cam-bus's core.CameraInfo reads (CLIENTS.md §15), the password aside: it is
# added only when the document is sent, and only to a broker with authentication.
CAMERA_INFO_KEYS = frozenset(
    {
        "ip",
        "name",
        "manufacturer",
        "model",
        "username",
        "port",
        "use_tls",
        "analytics",
        "enabled",
        "rtsp_url",
        "proxy_path",
        "central_host",
        "central_srt_port",
        "central_path",
        "record_enabled",
        "record_retention_minutes",
        "pre_roll_seconds",
        "shard",
    }
)
