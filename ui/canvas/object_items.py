"""Canvas items for pools, shared dicts and lists, and locks.

A pool draws one slot per worker with the task it runs, and how many tasks wait; a dict or list
shows what the last write left in it and who read it; a lock shows who holds it and who waits.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen

from simulator.snapshot import PoolState

from .. import theme
from .node_items import NodeItem, PipeItem, ProcessItem, QueueItem, paint_token


class PoolItem(ProcessItem):
    """``Pool(size)``: its workers as slots, each with the task it runs; tasks waiting, done."""

    MIN_WIDTH, HEIGHT = 240.0, 96.0

    def ports(self) -> list[str]:
        return ["out"]

    def subtitle(self) -> str:
        n = self.node
        return f"Pool({n.size}) · {n.tasks} task{'s' if n.tasks != 1 else ''} · {n.submit}"

    def process_state(self):
        return None  # a pool is not a process; its workers are

    def run_look(self, snap) -> object:
        pool = snap.pools.get(self.node.id)
        return None if pool is None else (pool.state, tuple(pool.workers), tuple(pool.running.items()),
                                          len(pool.queued), len(pool.done), len(pool.failed))

    def run_accent(self) -> QColor | None:
        pool = self.snapshot.pools.get(self.node.id) if self.snapshot is not None else None
        if pool is None or pool.state == "not_started":
            return None
        return QColor(theme.STATE_COLORS["running" if pool.running else "finished"])

    def slots(self) -> list[QRectF]:
        n = max(1, self.node.size)
        gap, area = 4.0, QRectF(12, self.HEIGHT - 34, self.WIDTH - 24, 22)
        w = min(60.0, (area.width() - gap * (n - 1)) / n)
        return [QRectF(area.left() + i * (w + gap), area.top(), w, area.height()) for i in range(n)]

    def paint_details(self, painter: QPainter, t: theme.Theme) -> None:
        super().paint_details(painter, t)
        painter.setPen(QPen(t.node_border, 1))
        painter.setBrush(t.slot)
        for rect in self.slots():
            painter.drawRoundedRect(rect, 4, 4)

    def paint_run(self, painter: QPainter, t: theme.Theme) -> None:
        pool = self.snapshot.pools.get(self.node.id)
        if pool is None:
            return
        busy = QColor(theme.STATE_COLORS["working"])
        numbers = task_numbers(pool)
        for i, rect in enumerate(self.slots()):
            worker = pool.workers[i] if i < len(pool.workers) else None
            task = next((task for task, w in pool.running.items() if w == worker), None)
            if task is not None:
                paint_token(painter, rect, busy, f"task {numbers[task]}")
        painter.setPen(t.text)
        painter.setFont(theme.font(9.5, bold=True))
        painter.drawText(QRectF(QPointF(8, self.HEIGHT + 4), self._badge), Qt.AlignmentFlag.AlignLeft,
                         self.status())

    def status(self) -> str:
        """The line under the pool: its tasks running, waiting, done (failed) and its state."""
        pool = self.snapshot.pools.get(self.node.id) if self.snapshot is not None else None
        if pool is None:
            return ""
        words = [f"{len(pool.running)} running", f"{len(pool.queued)} waiting", f"{len(pool.done)} done"]
        if pool.failed:
            words.append(f"{len(pool.failed)} failed")
        return " · ".join(words) + f" · {pool.state}"

    def prepare_run_look(self) -> None:
        # The status line stands where a process's badge would: its room is the item's (no clipping).
        text = self.status()
        extent = QSizeF(QFontMetricsF(theme.font(9.5, bold=True)).horizontalAdvance(text) + 4, 20) if text else QSizeF()
        if extent != self._badge:
            self.prepareGeometryChange()
            self._badge = extent


def task_numbers(pool: PoolState) -> dict[str, int]:
    """Each of a pool's tasks numbered 0, 1, 2... in the order it was given them, as a scenario's
    tasks are numbered: ids are ``<pid>:t<job>.<chunk>`` (see `ipc.pool`), one job an
    ``apply_async``, one chunk a part of a ``map``; a task seen later never comes before them."""

    def order(task_id: str) -> tuple[int, int]:
        job, _, chunk = task_id.rpartition(":t")[2].partition(".")
        return int(job), int(chunk or 0)

    tasks = {*pool.queued, *pool.running, *pool.done, *pool.failed}
    return {task: n for n, task in enumerate(sorted(tasks, key=order))}


class SharedItem(NodeItem):
    """``Manager().dict()`` or ``Manager().list()``: its contents after the last write."""

    MIN_WIDTH, HEIGHT = 220.0, 84.0

    def subtitle(self) -> str:
        return f"Manager().{self.node.kind}()"

    def contents_rect(self) -> QRectF:
        return QRectF(12, self.HEIGHT - 28, self.WIDTH - 24, 18)

    def paint_details(self, painter: QPainter, t: theme.Theme) -> None:
        painter.setPen(QPen(t.node_border, 1))
        painter.setBrush(t.slot)
        painter.drawRoundedRect(self.contents_rect(), 4, 4)

    def run_look(self, snap) -> object:
        shared = snap.shared.get(self.node.id)
        return None if shared is None else (shared.contents, shared.writes, shared.reads,
                                            shared.last_write and shared.last_write.process)

    def paint_run(self, painter: QPainter, t: theme.Theme) -> None:
        shared = self.snapshot.shared.get(self.node.id)
        if shared is None:
            return
        painter.setPen(t.text)
        painter.setFont(theme.font(9, bold=True))
        rect = self.contents_rect().adjusted(6, 0, -6, 0)
        text = shared.contents if shared.contents is not None else ("{}" if shared.kind == "dict" else "[]")
        painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, int(rect.width())))
        words = [f"{shared.writes} write{'s' if shared.writes != 1 else ''}",
                 f"{shared.reads} read{'s' if shared.reads != 1 else ''}"]
        if shared.last_write is not None:
            words.append(f"last written by {shared.last_write.process}")
        painter.setFont(theme.font(9.5, bold=True))
        painter.drawText(QRectF(8, self.HEIGHT + 4, self.WIDTH + 120, 20), Qt.AlignmentFlag.AlignLeft,
                         " · ".join(words))


class LockItem(NodeItem):
    """A lock: who holds it, who waits in acquire()."""

    MIN_WIDTH, HEIGHT = 180.0, 72.0

    def subtitle(self) -> str:
        return "Manager().Lock()" if self.node.lock_type == "Manager.Lock" else "Lock()"

    def run_look(self, snap) -> object:
        lock = snap.locks.get(self.node.id)
        return None if lock is None else (lock.holder, tuple(lock.waiters))

    def run_accent(self) -> QColor | None:
        lock = self.snapshot.locks.get(self.node.id) if self.snapshot is not None else None
        if lock is None:
            return None
        return QColor(theme.STATE_COLORS["blocked" if lock.waiters else "running" if lock.holder else "finished"])

    def paint_run(self, painter: QPainter, t: theme.Theme) -> None:
        lock = self.snapshot.locks.get(self.node.id)
        if lock is None:
            return
        held = f"held by {lock.holder}" if lock.holder else "free"
        waiting = f" · waiting: {', '.join(lock.waiters)}" if lock.waiters else ""
        painter.setPen(t.text)
        painter.setFont(theme.font(9.5, bold=True))
        painter.drawText(QRectF(8, self.HEIGHT + 4, self.WIDTH + 160, 20), Qt.AlignmentFlag.AlignLeft,
                         held + waiting)


def item_for(node) -> NodeItem:
    """The canvas item that draws a model node."""
    classes = {"queue": QueueItem, "pipe": PipeItem, "pool": PoolItem, "dict": SharedItem,
               "list": SharedItem, "lock": LockItem}
    return classes.get(node.kind, ProcessItem)(node)
