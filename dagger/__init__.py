"""Dagger: a durable, distributed workflow engine on Kafka and faust-streaming."""

__version__ = "0.2.6"
__author__ = "Dagger maintainers"
__all__: list[str] = []
