"""The interfaces the domain services need; adapters implement them."""
