"""Is the broker there? A real MQTT CONNECT, for /health and `doctor`."""

import asyncio
import ssl

import aiomqtt


class BrokerProbe:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        timeout: float = 3.0,
    ) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._tls = ssl.create_default_context() if tls else None
        self._timeout = timeout

    @property
    def address(self) -> str:
        return f"{self._host}:{self._port}"

    async def check(self) -> None:
        """Connect and disconnect; raises ``ConnectionError`` saying why when that fails."""
        client = aiomqtt.Client(
            self._host,
            self._port,
            username=self._username,
            password=self._password,
            tls_context=self._tls,
            timeout=self._timeout,
            protocol=aiomqtt.ProtocolVersion.V311,
        )
        try:
            async with asyncio.timeout(self._timeout + 1):
                async with client:
                    pass
        except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
            raise ConnectionError(f"broker {self.address} unreachable: {exc}") from exc
