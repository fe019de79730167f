"""MQTT adapters."""
