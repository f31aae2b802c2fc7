"""The main window: palette | canvas | inspector, a bottom area of panels, menus and toolbar,
and the file commands (New, Open, Save, Save As, recent files, the lesson gallery)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from PySide6.QtCore import QMimeData, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from simulator import scenario_file
from simulator.lessons import lesson_path
from simulator.model import EditError
from simulator.recording import TraceError

from simulator.captions import latest_caption

from . import theme
from .canvas.scene import CanvasScene
from .canvas.view import CanvasView
from .commands import RemoveItems, paste_fragment
from .editor import Editor
from .export_actions import ExportActions
from .gallery import GalleryDialog
from .inspector import Inspector
from .palette import Palette
from .panels import Console, EventLog, TimelinePlot
from .panels.code_panel import CodePanel
from .run_bar import RunBar
from .run_controller import RunController, outcome_words

FRAGMENT_MIME = "application/x-ipcsim-fragment"
FILE_FILTER = "ipcsim scenarios (*.json);;All files (*)"
TRACE_FILTER = "ipcsim traces (*.ipctrace);;All files (*)"
MAX_RECENT = 8
FIRST_SIZE = 0.85  # of the screen, the first time the window opens


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings("ipcsim", "ipcsim")
        self.editor = Editor(self)
        self.scene = CanvasScene(self.editor, self)
        self.view = CanvasView(self.scene, self)
        self.caption = QLabel()
        self.caption.setObjectName("caption")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("QLabel#caption { background: #111827; color: white; padding: 10px 16px; }")
        self.caption.setFont(theme.font(17, bold=True))
        self.caption.hide()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view)
        layout.addWidget(self.caption)
        self.setCentralWidget(central)
        self.display_name = "Untitled"
        self._paste_count = 0
        self._loading_trace = False

        self.palette_list = Palette()
        self.palette_list.activated_kind.connect(self._add_at_center)
        self.inspector = Inspector(self.editor)
        self.problems = QListWidget()
        self.bottom = QTabWidget()
        self.bottom.addTab(self.problems, "Problems")
        self.controller = RunController(self)
        self.event_log = EventLog(self.controller)
        self.console = Console(self.controller)
        self.timeline_plot = TimelinePlot(self.controller)
        self.bottom.addTab(self.timeline_plot, "Timeline")
        self.bottom.addTab(self.event_log, "Events")
        self.bottom.addTab(self.console, "Console")
        self.code = CodePanel(self.editor, self.controller)
        self.bottom.addTab(self.code, "Code")
        docks = [self._dock("Palette", self.palette_list, Qt.DockWidgetArea.LeftDockWidgetArea),
                 self._dock("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea)]
        self.panels_dock = self._dock("Panels", self.bottom, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._docks = docks

        self.run_bar = RunBar(self.controller, self)
        self.run_bar.act_run.triggered.connect(self.run_scenario)
        self.run_bar.act_restart.triggered.connect(self.restart)
        self.controller.frame.connect(self._show_frame)
        self.controller.state_changed.connect(self._run_state_changed)
        self.controller.timeline_replaced.connect(self._run_state_changed)
        self.controller.run_finished.connect(
            lambda outcome: self.statusBar().showMessage(
                f"The run {outcome_words(outcome)}. Scrub or step through it.", 8000))

        self.exports = ExportActions(self)
        self._build_actions()
        self._build_menus()
        self.addToolBarBreak()
        self.addToolBar(self.run_bar)
        self.statusBar()

        e = self.editor
        e.status.connect(lambda text: self.statusBar().showMessage(text, 6000))
        e.undo_stack.cleanChanged.connect(self._update_title)
        e.path_changed.connect(self._update_title)
        e.document_replaced.connect(self._document_replaced)
        e.undo_stack.indexChanged.connect(self._update_problems)
        e.undo_stack.indexChanged.connect(self._scenario_edited)
        e.selection_changed.connect(self._update_actions)
        self.scene.selectionChanged.connect(self._update_actions)
        self.resize(1280, 760)
        self._update_title()
        self._update_actions()

    def _dock(self, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    # -- actions and menus

    def _action(self, text: str, slot, shortcut=None, icon=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        stack = self.editor.undo_stack
        self.act_new = self._action("&New", self.new_file, K.New)
        self.act_open = self._action("&Open...", self.open_dialog, K.Open)
        self.act_open_trace = self._action("Open &Trace...", self.open_trace_dialog, "Ctrl+Shift+O",
                                           tip="Replay a recorded run without running anything")
        self.act_gallery = self._action("Lesson &Gallery...", self.show_gallery, "Ctrl+G")
        self.act_save = self._action("&Save", self.save, K.Save)
        self.act_save_as = self._action("Save &As...", self.save_as, K.SaveAs)
        self.act_save_trace = self._action("Save T&race As...", self.save_trace_as,
                                           tip="Keep this run's recording (the runs folder is a cache)")
        self.act_save_trace.setEnabled(False)
        self.act_quit = self._action("&Quit", self.close, K.Quit)
        self.act_undo = stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence(K.Undo))
        self.act_redo = stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcut(QKeySequence(K.Redo))
        self.act_cut = self._action("Cu&t", self.cut, K.Cut)
        self.act_copy = self._action("&Copy", self.copy, K.Copy)
        self.act_paste = self._action("&Paste", self.paste, K.Paste)
        self.act_duplicate = self._action("&Duplicate", self.duplicate, "Ctrl+D")
        self.act_delete = self._action("&Delete", self.delete_selection, K.Delete)
        self.act_rename = self._action("&Rename", self.rename_selected, "F2")
        self.act_select_all = self._action("Select &All", self.select_all, K.SelectAll)
        self.act_zoom_in = self._action("Zoom &In", self.view.zoom_in, K.ZoomIn)
        self.act_zoom_out = self._action("Zoom &Out", self.view.zoom_out, K.ZoomOut)
        self.act_fit = self._action("&Fit to View", self.view.fit_all, "Ctrl+0")
        self.act_actual = self._action("Actual &Size", self.view.reset_zoom, "Ctrl+1")
        self.act_present = self._action("&Presentation Mode", self.set_presentation, "F11",
                                        tip="Larger canvas, text and tokens, and a caption for a projector")
        self.act_present.setCheckable(True)
        for action in (self.act_delete,):
            action.setShortcuts([QKeySequence(K.Delete), QKeySequence(Qt.Key.Key_Backspace)])

        bar = self.addToolBar("Main")
        bar.setObjectName("MainToolbar")
        for action in (self.act_new, self.act_open, self.act_save, None, self.act_undo, self.act_redo,
                       self.act_delete, None, self.act_zoom_out, self.act_zoom_in, self.act_fit, None,
                       self.act_gallery):
            bar.addSeparator() if action is None else bar.addAction(action)

    def _build_menus(self) -> None:
        m = self.menuBar()
        file_menu = m.addMenu("&File")
        for action in (self.act_new, self.act_open, self.act_open_trace):
            file_menu.addAction(action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addAction(self.act_gallery)
        file_menu.addSeparator()
        for action in (self.act_save, self.act_save_as, self.act_save_trace):
            file_menu.addAction(action)
        export_menu = file_menu.addMenu("&Export")
        for action in self.exports.all:
            export_menu.addAction(action)
        self.file_menu = file_menu
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit = m.addMenu("&Edit")
        for action in (self.act_undo, self.act_redo, None, self.act_cut, self.act_copy, self.act_paste,
                       self.act_duplicate, self.act_delete, None, self.act_rename, self.act_select_all):
            edit.addSeparator() if action is None else edit.addAction(action)
        run = m.addMenu("&Run")
        for action in self.run_bar.actions():
            if not action.isSeparator() and action.text():
                run.addAction(action)
        view = m.addMenu("&View")
        for action in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual, self.act_present):
            view.addAction(action)
        view.addSeparator()
        for dock in self.findChildren(QDockWidget):
            view.addAction(dock.toggleViewAction())
        self.view_menu = view

    def _update_actions(self, *_) -> None:
        has = bool(self.editor.selection) or bool(self.scene.selected_links())
        for action in (self.act_cut, self.act_copy, self.act_duplicate, self.act_delete):
            action.setEnabled(has)
        self.act_rename.setEnabled(len(self.editor.selection) == 1)

    # -- the title, problems

    def _update_title(self, *_) -> None:
        name = self.editor.path.name if self.editor.path else self.display_name
        self.setWindowTitle(f"{name}[*] — ipcsim")
        self.setWindowModified(self.editor.modified)

    def _update_problems(self, *_) -> None:
        self.problems.clear()
        problems = self.editor.model.problems()
        self.problems.addItems(problems or ["No problems: the scenario can run."])
        self.bottom.setTabText(self.bottom.indexOf(self.problems),
                               f"Problems ({len(problems)})" if problems else "Problems")

    def _document_replaced(self) -> None:
        self._update_problems()
        self._update_title()
        QTimer.singleShot(0, self.view.fit_all)  # once the layout has settled

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._settle_layout)

    def _settle_layout(self) -> None:
        self.resizeDocks(self._docks, [170, 330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.panels_dock], [170], Qt.Orientation.Vertical)
        self.view.fit_all()

    # -- files

    def maybe_save(self) -> bool:
        """Ask what to do with unsaved changes; False if the user cancelled."""
        if not self.editor.modified:
            return True
        answer = QMessageBox.warning(
            self, "Unsaved changes", f"Save the changes to {self.windowTitle().split('[')[0]}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_file(self) -> None:
        if self.maybe_save():
            self.display_name = "Untitled"
            self.editor.new()

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open scenario", self._last_dir(), FILE_FILTER)
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> bool:
        try:
            self.editor.open(path)
        except scenario_file.ScenarioError as exc:
            box = QMessageBox(QMessageBox.Icon.Critical, "Cannot open scenario",
                              f"{path.name} is not a valid scenario:", parent=self)
            box.setInformativeText("\n".join(f"• {e}" for e in exc.errors[:12]))
            if len(exc.errors) > 12:
                box.setDetailedText("\n".join(exc.errors))
            box.exec()
            return False
        self._add_recent(path)
        return True

    def open_lesson(self, path: Path) -> None:
        """Open a lesson as a new, unsaved copy: Save asks where, the lesson file stays intact."""
        try:
            document = scenario_file.load(path)
        except scenario_file.ScenarioError as exc:
            QMessageBox.critical(self, "Cannot open lesson", "\n".join(exc.errors[:12]))
            return
        self.display_name = f"Lesson {path.name[:2]}: {document.scenario.title}"
        self.editor.open_document(document, None)

    def show_gallery(self) -> None:
        if not self.maybe_save():
            return
        dialog = GalleryDialog(self)
        if dialog.exec() and dialog.chosen_path():
            self.open_lesson(dialog.chosen_path())

    def save(self) -> bool:
        if self.editor.path is None:
            return self.save_as()
        return self._save_to(self.editor.path)

    def save_as(self) -> bool:
        suggested = str(Path(self._last_dir()) / "scenario.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save scenario", suggested, FILE_FILTER)
        return bool(path) and self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.editor.save(path)
        except OSError as exc:
            QMessageBox.critical(self, "Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self._add_recent(path)
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def save_trace_as(self) -> None:
        """A copy of the recording of the run on screen, where the user says (runs are recorded
        into a cache, whose oldest recordings are deleted in time)."""
        source = self.controller.trace_path
        if source is None or self.controller.live:
            return
        suggested = str(Path(self._last_dir()) / source.name)
        path, _ = QFileDialog.getSaveFileName(self, "Save trace", suggested, TRACE_FILTER)
        if not path:
            return
        try:
            with open(source, "rb") as f:
                scenario_file.write_atomic(Path(path), f)
        except OSError as exc:
            QMessageBox.critical(self, "Cannot save trace", f"{path}: {exc.strerror or exc}")
            return
        self.statusBar().showMessage(f"Saved {path}", 4000)

    def _recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _add_recent(self, path: Path) -> None:
        recent = [str(path.resolve())] + [p for p in self._recent() if p != str(path.resolve())]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self.settings.setValue("last_dir", str(path.resolve().parent))

    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self._recent()
        for p in recent:
            action = self.recent_menu.addAction(p)
            action.triggered.connect(lambda _=False, p=p: self.maybe_save() and self.open_path(Path(p)))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def restore_layout(self) -> None:
        """Size, place and panels as they were when the window was last closed; the first time,
        most of the screen it opens on (a projector's as well as a laptop's)."""
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            area = self.screen().availableGeometry()
            self.resize(area.size() * FIRST_SIZE)
            self.move(area.center() - self.rect().center())
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event) -> None:
        if self.maybe_save():
            self.controller.stop()  # no process of a run outlives the window
            if self.act_present.isChecked():  # the panels it hid are the user's layout
                self.set_presentation(False)
            self.settings.setValue("window/geometry", self.saveGeometry())
            self.settings.setValue("window/state", self.saveState())
            event.accept()
        else:
            event.ignore()

    # -- running and replaying

    def run_scenario(self) -> None:
        if self.controller.live:
            return
        problems = self.editor.model.problems()
        if problems:
            self.bottom.setCurrentWidget(self.problems)
            self.statusBar().showMessage(f"Cannot run: {problems[0]}", 8000)
            return
        try:
            self.controller.start(copy.deepcopy(self.editor.model.document))
        except OSError as exc:
            QMessageBox.critical(self, "Cannot run", str(exc))
            return
        if self.bottom.currentWidget() is self.problems:
            self.bottom.setCurrentWidget(self.timeline_plot)
        self.statusBar().showMessage(f"Running… recording to {self.controller.trace_path}", 5000)

    def restart(self) -> None:
        self.controller.stop()
        self.controller.close()
        self.run_scenario()

    def open_trace_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open trace", self._last_dir(), TRACE_FILTER)
        if path:
            self.open_trace(Path(path))

    def open_trace(self, path: Path) -> bool:
        """Show a recorded run: its scenario on the canvas, ready to replay."""
        try:
            recording = self.controller.load_trace(path)
        except TraceError as exc:
            QMessageBox.critical(self, "Cannot open trace", str(exc))
            return False
        self.display_name = f"{path.name} (replay)"
        self._loading_trace = True
        self.editor.open_document(copy.deepcopy(recording.document), None)
        self._loading_trace = False
        self._show_frame()
        return True

    def _scenario_edited(self, *_) -> None:
        """An edit makes a recorded run stale: the picture goes back to the scenario."""
        if self.controller.timeline is not None and not self.controller.live and not self._loading_trace:
            self.controller.close()

    def _show_frame(self) -> None:
        state = self.controller.state()
        if state is None:
            self.scene.clear_run()
        else:
            self.scene.show_run(self.controller.timeline, self.controller.playhead, state)
        if self.caption.isVisible():
            timeline = self.controller.timeline
            self.caption.setText(latest_caption(timeline, self.controller.playhead) if timeline is not None
                                 else self.editor.model.scenario.explanation)

    def set_presentation(self, on: bool) -> None:
        """For a projector: only the canvas (larger) and a caption explaining the latest event."""
        theme.set_presentation(on)
        if on:
            self._docks_shown = [d for d in self.findChildren(QDockWidget) if d.isVisible()]
            for dock in self._docks_shown:
                dock.hide()
        else:
            for dock in getattr(self, "_docks_shown", []):
                dock.show()
        self.caption.setFont(theme.font(15, bold=True))
        self.caption.setVisible(on)
        self.act_present.setChecked(on)
        self._update_read_only()
        self.scene.rebuild()
        self._show_frame()
        QTimer.singleShot(0, self.view.fit_all)

    def _update_read_only(self) -> None:
        """No editing while a run is live, nor in presentation mode (whose canvas is spread apart
        to give its larger text room: see `CanvasScene.item_pos`)."""
        if self.controller.live:
            why = "The scenario is read-only while it runs: stop the run to edit."
        elif self.act_present.isChecked():
            why = "The scenario is read-only in presentation mode: leave it (F11) to edit."
        else:
            why = ""
        self.editor.read_only = why
        self.inspector.set_read_only(bool(why))
        self.palette_list.setEnabled(not why)

    def _run_state_changed(self) -> None:
        live = self.controller.live
        self._update_read_only()
        self.run_bar.act_run.setEnabled(not live)
        self.act_save_trace.setEnabled(self.controller.timeline is not None and not live)
        if self.controller.timeline is None:
            self.scene.clear_run()

    # -- editing

    def _add_at_center(self, kind: str) -> None:
        self.scene.add_from_palette(kind, self.view.mapToScene(self.view.viewport().rect().center()))

    def delete_selection(self) -> None:
        nodes, links = self.editor.selection, self.scene.selected_links()
        if nodes or links:
            self.editor.push(RemoveItems(self.editor.model, list(nodes), links))

    def copy(self) -> None:
        if not self.editor.selection:
            return
        data = json.dumps(self.editor.model.fragment(self.editor.selection))
        mime = QMimeData()
        mime.setData(FRAGMENT_MIME, data.encode())
        mime.setText(data)
        QGuiApplication.clipboard().setMimeData(mime)
        self._paste_count = 0

    def cut(self) -> None:
        self.copy()
        self.delete_selection()

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(FRAGMENT_MIME):
            return
        self._paste_count += 1
        self._paste(bytes(mime.data(FRAGMENT_MIME)).decode(), 40.0 * self._paste_count)

    def duplicate(self) -> None:
        if self.editor.selection:
            self._paste(json.dumps(self.editor.model.fragment(self.editor.selection)), 40.0)

    def _paste(self, text: str, offset: float) -> None:
        before = {n.id for n in self.editor.model.scenario.nodes}
        try:
            command = paste_fragment(self.editor.model, json.loads(text), (offset, offset))
        except (EditError, ValueError, TypeError, KeyError, AttributeError) as exc:
            self.editor.status.emit(f"Cannot paste: {exc}")
            return
        self.editor.push(command)
        self.editor.set_selection([n.id for n in self.editor.model.scenario.nodes if n.id not in before])

    def rename_selected(self) -> None:
        if len(self.editor.selection) == 1:
            self.view.start_rename(self.editor.selection[0])

    def select_all(self) -> None:
        self.editor.set_selection([n.id for n in self.editor.model.scenario.nodes])

    # -- start-up

    def open_initial(self, argv: list[str]) -> None:
        """Open the file named on the command line, else lesson 1 for a first look."""
        if argv and self.open_path(Path(argv[0])):
            return
        self.open_lesson(lesson_path(1))
