"""Grouping verified duplicate links into duplicate groups (catalog dedupe), and choosing each group's
representative.

Groups are the connected components of the links (union-find). The representative is the member linked
to the most others (the most central copy, so the most members carry a score against it), ties broken by
the smallest asset id so the choice is stable across runs. Each member's score against the
representative is that of their direct link; a member reached only through others has none (null).
"""
from __future__ import annotations

import hashlib


def connected_groups(links) -> list[list[str]]:
    """Components (lists of sorted member keys) of the (a, b) links, largest first."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]  # path halving
            node = parent[node]
        return node

    for a, b in links:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for node in parent:
        groups.setdefault(root(node), []).append(node)
    return sorted((sorted(members) for members in groups.values()), key=lambda g: (-len(g), g[0]))


def representative(members: list[str], scores: dict) -> str:
    """The member with the most links in ``scores`` ({(a, b): score}, a < b), then the smallest."""
    degree = {member: 0 for member in members}
    for a, b in scores:
        if a in degree:
            degree[a] += 1
            degree[b] += 1
    return min(members, key=lambda member: (-degree[member], member))


def group_id(members: list[str]) -> str:
    """Stable across runs: the same members always give the same id."""
    return hashlib.sha1("\n".join(sorted(members)).encode("utf-8")).hexdigest()[:16]
