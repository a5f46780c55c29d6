"""The shop's Django app: products, encrypted customer accounts, views and management commands."""
