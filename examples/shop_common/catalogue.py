"""The product catalogue of Bean There, the example shop (prices in EUR, as decimal text)."""

from __future__ import annotations

from typing import TypedDict


class Product(TypedDict):
    id: str
    name: str
    description: str
    price: str
    interval: str | None  # "month" for a subscription product, else None


PRODUCTS: tuple[Product, ...] = (
    {"id": "beans-250", "name": "House blend, 250 g", "price": "8.90", "interval": None,
     "description": "Whole beans, roasted this week."},
    {"id": "filter-papers", "name": "Filter papers (100)", "price": "3.50", "interval": None,
     "description": "Unbleached, size 4."},
    {"id": "coffee-club", "name": "Coffee club, 1 kg a month", "price": "24.00", "interval": "month",
     "description": "A fresh kilo every month; cancel any time."},
)
