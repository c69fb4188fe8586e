"""Products: SKU → category → product line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    product_line: str
    uom: str = "EA"
