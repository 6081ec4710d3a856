"""The domain: pure model and the services built on ports."""
