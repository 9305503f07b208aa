"""A small stock-keeping module with undocumented functions, for trying DocuCode."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator


@dataclass
class Item:
    sku: str
    name: str
    quantity: int = 0
    price: float = 0.0


@dataclass
class Inventory:
    items: dict[str, Item] = field(default_factory=dict)

    def add(self, item: Item) -> None:
        if item.sku in self.items:
            raise KeyError(f"duplicate SKU {item.sku}")
        self.items[item.sku] = item

    def restock(self, sku: str, amount: int) -> int:
        if amount <= 0:
            raise ValueError("amount must be positive")
        item = self.items[sku]
        item.quantity += amount
        return item.quantity

    def total_value(self) -> float:
        return sum(item.quantity * item.price for item in self.items.values())

    def low_stock(self, threshold: int = 5) -> Iterator[Item]:
        for item in sorted(self.items.values(), key=lambda i: i.quantity):
            if item.quantity < threshold:
                yield item


def load_inventory(path: Path) -> Inventory:
    data = json.loads(path.read_text(encoding="utf-8"))
    inventory = Inventory()
    for row in data:
        inventory.add(Item(**row))
    return inventory


def save_inventory(inventory: Inventory, path: Path, *, indent: int = 2) -> None:
    rows = [vars(item) for item in inventory.items.values()]
    path.write_text(json.dumps(rows, indent=indent), encoding="utf-8")
