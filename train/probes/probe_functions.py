"""Inventory and log utilities for a small warehouse service."""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from typing import Iterable, Iterator


def flatten_categories(tree: dict[str, dict], prefix: str = "") -> list[str]:
    paths = []
    for name, children in sorted(tree.items()):
        path = f"{prefix}/{name}" if prefix else name
        paths.append(path)
        if children:
            paths.extend(flatten_categories(children, path))
    return paths


def iter_log_records(path: Path, level: str | None = None) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc.msg}") from None
            if level is None or record.get("level") == level:
                yield record


def find_sku(items: list[dict], sku: str) -> dict | None:
    low, high = 0, len(items) - 1
    while low <= high:
        middle = (low + high) // 2
        current = items[middle]["sku"]
        if current == sku:
            return items[middle]
        if current < sku:
            low = middle + 1
        else:
            high = middle - 1
    return None


def reserve_stock(stock: dict[str, int], order: dict[str, int]) -> dict[str, int]:
    for sku, quantity in order.items():
        if quantity <= 0:
            raise ValueError(f"quantity for {sku} must be positive, got {quantity}")
        available = stock.get(sku)
        if available is None:
            raise KeyError(sku)
        if available < quantity:
            raise RuntimeError(f"only {available} of {sku} left, {quantity} requested")
    remaining = dict(stock)
    for sku, quantity in order.items():
        remaining[sku] -= quantity
    return remaining


def batched(values: Iterable[int], size: int) -> Iterator[list[int]]:
    if size < 1:
        raise ValueError("size must be at least 1")
    batch = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def shortest_route(graph: dict[str, list[str]], start: str, goal: str) -> list[str]:
    if start == goal:
        return [start]
    previous = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for neighbour in graph.get(node, []):
            if neighbour in previous:
                continue
            previous[neighbour] = node
            if neighbour == goal:
                route = [goal]
                while previous[route[-1]] is not None:
                    route.append(previous[route[-1]])
                return route[::-1]
            queue.append(neighbour)
    return []


def count_pallets(weights: list[float], capacity: float) -> int:
    if any(weight > capacity for weight in weights):
        raise ValueError("an item is heavier than a pallet can carry")
    loads: list[float] = []
    for weight in sorted(weights, reverse=True):
        for index, load in enumerate(loads):
            if load + weight <= capacity:
                loads[index] += weight
                break
        else:
            loads.append(weight)
    return len(loads)


def merge_price_lists(*price_lists: dict[str, float], prefer_lowest: bool = True) -> dict[str, float]:
    merged: dict[str, float] = {}
    for prices in price_lists:
        for sku, price in prices.items():
            if price < 0:
                continue
            if sku not in merged:
                merged[sku] = price
            elif prefer_lowest:
                merged[sku] = min(merged[sku], price)
            else:
                merged[sku] = max(merged[sku], price)
    return merged


def total_weight(bundle: dict) -> float:
    weight = bundle.get("weight", 0.0)
    for part in bundle.get("parts", []):
        weight += total_weight(part)
    return weight


def read_setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(f"WAREHOUSE_{name.upper()}")
    if value is not None:
        return value
    config = Path.home() / ".warehouse.json"
    if config.is_file():
        try:
            settings = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            settings = {}
        if name in settings:
            return str(settings[name])
    if default is None:
        raise LookupError(f"setting {name!r} is not configured")
    return default


async def drain_queue(queue, handler, max_items: int = 100) -> int:
    handled = 0
    while handled < max_items and not queue.empty():
        item = await queue.get()
        try:
            await handler(item)
            handled += 1
        finally:
            queue.task_done()
    return handled


class StockLedger:
    def __init__(self) -> None:
        self.entries: list[tuple[str, int]] = []

    def record(self, sku: str, change: int) -> None:
        if change == 0:
            return
        self.entries.append((sku, change))

    def balance(self, sku: str) -> int:
        return sum(change for entry_sku, change in self.entries if entry_sku == sku)

    def history(self, sku: str) -> Iterator[int]:
        running = 0
        for entry_sku, change in self.entries:
            if entry_sku != sku:
                continue
            running += change
            yield running
