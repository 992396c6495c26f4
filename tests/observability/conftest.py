"""Makes the `otlp_receiver` fixture (a stand-in OTLP collector) available to these tests."""

from otlp_receiver import otlp_receiver  # noqa: F401  (a pytest fixture, found by its name)
