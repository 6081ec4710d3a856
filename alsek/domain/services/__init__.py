"""Services of the domain. They talk to the outside world only through ``alsek.ports``."""
