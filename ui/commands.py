"""Undo commands: each edit is one small command that calls `ScenarioModel` methods.

Commands never touch canvas items; the model announces the change and the canvas follows.
Callers check an edit is valid (e.g. `model.link_problem`) before pushing its command, so
`redo` never fails.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtGui import QUndoCommand

from simulator.model import ScenarioModel, node_from_dict
from simulator.scenario import Link, Step


class AddNode(QUndoCommand):
    def __init__(self, model: ScenarioModel, node, position):
        super().__init__(f"Add {node.kind} {node.id}")
        self.model, self.node, self.position = model, node, position

    def redo(self):
        self.model.add_node(self.node, self.position)

    def undo(self):
        self.model.remove_node(self.node.id)


class AddLink(QUndoCommand):
    def __init__(self, model: ScenarioModel, link: Link):
        end = f" end {link.end}" if link.end else ""
        super().__init__(f"Connect {link.process} {link.op} {link.channel}{end}")
        self.model, self.link = model, link

    def redo(self):
        self.model.add_link(self.link)

    def undo(self):
        self.model.remove_link(self.link)


class RemoveItems(QUndoCommand):
    """Delete nodes with every link touching them, and links on their own."""

    def __init__(self, model: ScenarioModel, node_ids: list[str], links: list[Link] = ()):
        nodes = [n for n in model.scenario.nodes if n.id in set(node_ids)]
        touching = [k for k in model.scenario.links
                    if k in links or k.process in node_ids or k.channel in node_ids]
        what = nodes[0].id if len(nodes) == 1 and not links else f"{len(nodes) + len(links)} items"
        super().__init__(f"Delete {what}")
        self.model = model
        self.links = [(model.scenario.links.index(k), k) for k in touching]
        self.nodes = [(model.scenario.nodes.index(n), n, model.positions.get(n.id, (0, 0))) for n in nodes]

    def redo(self):
        for _, link in self.links:
            self.model.remove_link(link)
        for _, node, _ in self.nodes:
            self.model.remove_node(node.id)

    def undo(self):
        for index, node, position in self.nodes:
            self.model.add_node(node, position, index)
        for index, link in self.links:
            self.model.add_link(link, index)


class MoveNodes(QUndoCommand):
    def __init__(self, model: ScenarioModel, moves: dict[str, tuple[tuple, tuple]]):
        names = list(moves)
        super().__init__(f"Move {names[0]}" if len(names) == 1 else f"Move {len(names)} nodes")
        self.model, self.moves = model, moves

    def redo(self):
        for node_id, (_, new) in self.moves.items():
            self.model.move_node(node_id, new)

    def undo(self):
        for node_id, (old, _) in self.moves.items():
            self.model.move_node(node_id, old)


class ChangeNode(QUndoCommand):
    """Set parameters of one node. Successive changes of the same field merge into one step."""

    ID = 1001

    def __init__(self, model: ScenarioModel, node_id: str, **changes):
        fields = ", ".join(changes)
        super().__init__(f"Change {fields} of {node_id}")
        self.model, self.node_id, self.changes = model, node_id, changes
        self.old = {k: getattr(model.node(node_id), k) for k in changes}

    def id(self):
        return self.ID

    def mergeWith(self, other):
        if other.node_id != self.node_id or set(other.changes) != set(self.changes):
            return False
        self.changes = other.changes
        return True

    def redo(self):
        self.model.change_node(self.node_id, **self.changes)

    def undo(self):
        self.model.change_node(self.node_id, **self.old)


class RenameNode(QUndoCommand):
    def __init__(self, model: ScenarioModel, old: str, new: str):
        super().__init__(f"Rename {old} to {new}")
        self.model, self.old, self.new = model, old, new

    def redo(self):
        self.model.rename_node(self.old, self.new)

    def undo(self):
        self.model.rename_node(self.new, self.old)


class ChangeScenario(QUndoCommand):
    ID = 1002

    def __init__(self, model: ScenarioModel, **changes):
        super().__init__(f"Change {', '.join(changes).replace('_', ' ')}")
        self.model, self.changes = model, changes
        self.old = {k: getattr(model.scenario, k) for k in changes}

    def id(self):
        return self.ID

    def mergeWith(self, other):
        if set(other.changes) != set(self.changes):
            return False
        self.changes = other.changes
        return True

    def redo(self):
        self.model.change_scenario(**self.changes)

    def undo(self):
        self.model.change_scenario(**self.old)


class SetSteps(QUndoCommand):
    def __init__(self, model: ScenarioModel, steps: list[Step], text: str = "Edit main's steps"):
        super().__init__(text)
        self.model, self.new, self.old = model, list(steps), list(model.scenario.steps)

    def redo(self):
        self.model.set_steps(self.new)

    def undo(self):
        self.model.set_steps(self.old)


class Composite(QUndoCommand):
    """Several commands as one undo step. (Holding the parts in Python, rather than as Qt child
    commands, keeps their Python objects alive for as long as the stack needs them.)"""

    def __init__(self, text: str, parts: list[QUndoCommand]):
        super().__init__(text)
        self.parts = parts

    def redo(self):
        for part in self.parts:
            part.redo()

    def undo(self):
        for part in reversed(self.parts):
            part.undo()


def paste_fragment(model: ScenarioModel, fragment: dict, offset: tuple[float, float]) -> QUndoCommand:
    """One undoable step adding copies of a fragment's nodes (renamed to be unique) and links.
    Raises `EditError` if the fragment holds something invalid."""
    nodes = [node_from_dict(data) for data in fragment.get("nodes", [])]
    parts: list[QUndoCommand] = []
    renamed: dict[str, str] = {}
    for node in nodes:
        new_id = model.unique_id(node.id)
        while new_id in renamed.values():
            new_id = model.unique_id(new_id + "_")
        renamed[node.id] = new_id
        x, y = fragment.get("positions", {}).get(node.id, (0, 0))
        parts.append(AddNode(model, dataclasses.replace(node, id=new_id), (x + offset[0], y + offset[1])))
    for data in fragment.get("links", []):
        if data.get("process") in renamed and data.get("channel") in renamed:
            link = Link(**{**data, "process": renamed[data["process"]], "channel": renamed[data["channel"]]})
            parts.append(AddLink(model, link))
    return Composite(f"Paste {len(nodes)} node{'s' if len(nodes) != 1 else ''}", parts)
