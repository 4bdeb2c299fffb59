"""When the editor draws: a frame only when something changed (input, worker messages, edits),
at most MAX_FPS, plus a slow heartbeat; and the log that `nodegraph edit --fps-log` writes.

A frame costs tens of milliseconds under a software renderer, so an editor that draws all the
time keeps a core busy doing nothing; this one sleeps until there is something to show."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time
from pathlib import Path

MAX_FPS = 60.0
HEARTBEAT_S = 1.0  # an idle editor still draws this often (window exposes, resizes)
LINGER_S = 0.6  # keep drawing this long after the last input (hover, tooltips, drags)
POLL_S = 0.008  # how often an idle editor looks at the input devices
FALLBACK_S = 0.1  # without X11 input watching, draw at least this often


XI_RAW_EVENTS = (13, 15)  # XI_RawKeyPress, XI_RawButtonPress (a wheel notch is a button)
XI_ALL_MASTER_DEVICES = 1
XEVENT_BYTES = 192  # sizeof(XEvent)


class _XIEventMask(ctypes.Structure):
    _fields_ = [
        ("deviceid", ctypes.c_int),
        ("mask_len", ctypes.c_int),
        ("mask", ctypes.POINTER(ctypes.c_ubyte)),
    ]


class InputWatch:
    """Notices mouse and keyboard activity without drawing a frame: X11's pointer position,
    buttons and key map, read on a display connection of our own (a cheap round trip each),
    and XInput2 raw key and button presses, so a wheel notch or an instant chord, which leave
    no state to poll, still wake the editor. Without X11 it reports activity every
    FALLBACK_S, so the editor draws at a low steady rate."""

    def __init__(self) -> None:
        self._x11 = self._display = None
        self._raw = False
        self._last: bytes | None = None
        self._fallback_at = 0.0
        if not os.environ.get("DISPLAY"):
            return
        name = ctypes.util.find_library("X11")
        if name is None:
            return
        try:
            x11 = ctypes.CDLL(name)
            x11.XOpenDisplay.restype = ctypes.c_void_p
            x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
            x11.XDefaultRootWindow.restype = ctypes.c_ulong
            x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
            x11.XQueryPointer.argtypes = [ctypes.c_void_p, ctypes.c_ulong] + [ctypes.c_void_p] * 7
            x11.XQueryKeymap.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        except (OSError, AttributeError):
            return
        display = x11.XOpenDisplay(None)
        if display:
            self._x11, self._display = x11, display
            self._root = x11.XDefaultRootWindow(display)
            self._raw = self._select_raw_events()

    def _select_raw_events(self) -> bool:
        """Asks the X server for raw key and button presses on this connection (XInput2)."""
        name = ctypes.util.find_library("Xi")
        if name is None:
            return False
        try:
            xi = ctypes.CDLL(name)
            major, minor = ctypes.c_int(2), ctypes.c_int(0)
            xi.XIQueryVersion.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
            if xi.XIQueryVersion(self._display, ctypes.byref(major), ctypes.byref(minor)) != 0:
                return False
            bits = (ctypes.c_ubyte * 4)()
            for event in XI_RAW_EVENTS:
                bits[event >> 3] |= 1 << (event & 7)
            mask = _XIEventMask(XI_ALL_MASTER_DEVICES, len(bits), bits)
            xi.XISelectEvents.argtypes = [
                ctypes.c_void_p,
                ctypes.c_ulong,
                ctypes.c_void_p,
                ctypes.c_int,
            ]
            xi.XISelectEvents(self._display, self._root, ctypes.byref(mask), 1)
            self._x11.XPending.argtypes = [ctypes.c_void_p]
            self._x11.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
            self._x11.XFlush.argtypes = [ctypes.c_void_p]
            self._x11.XFlush(self._display)
        except (OSError, AttributeError):
            return False
        self._event = ctypes.create_string_buffer(XEVENT_BYTES)
        return True

    def _raw_pressed(self) -> bool:
        """True when raw presses arrived since the last call (they are read and dropped)."""
        if not self._raw:
            return False
        pressed = False
        while self._x11.XPending(self._display):
            self._x11.XNextEvent(self._display, self._event)
            pressed = True
        return pressed

    def active(self) -> bool:
        """True when the pointer, a button or a key changed since the last call."""
        if self._display is None:
            now = time.monotonic()
            if now >= self._fallback_at:
                self._fallback_at = now + FALLBACK_S
                return True
            return False
        pressed = self._raw_pressed()
        state = self._state()
        changed = state != self._last
        self._last = state
        return changed or pressed

    def _state(self) -> bytes:
        ulong, cint, uint = ctypes.c_ulong, ctypes.c_int, ctypes.c_uint
        root, child = ulong(), ulong()
        rx, ry, wx, wy, mask = cint(), cint(), cint(), cint(), uint()
        self._x11.XQueryPointer(
            self._display, self._root, ctypes.byref(root), ctypes.byref(child),
            ctypes.byref(rx), ctypes.byref(ry), ctypes.byref(wx), ctypes.byref(wy),
            ctypes.byref(mask),
        )  # fmt: skip
        keys = ctypes.create_string_buffer(32)
        self._x11.XQueryKeymap(self._display, keys)
        return bytes(f"{rx.value},{ry.value},{mask.value}", "ascii") + keys.raw

    def close(self) -> None:
        if self._display is not None:
            self._x11.XCloseDisplay(self._display)
            self._display = None


class FramePacer:
    """Decides, each poll, whether to draw a frame now."""

    def __init__(self) -> None:
        self.last_frame = 0.0
        self.draw_until = 0.0

    def due(self, now: float, input_active: bool, has_news: bool) -> bool:
        """`has_news`: worker messages, graph edits or timers wait to be shown."""
        if input_active:
            self.draw_until = now + LINGER_S
        if now - self.last_frame < 1.0 / MAX_FPS:
            return False
        return has_news or now < self.draw_until or now - self.last_frame >= HEARTBEAT_S

    def drew(self, now: float) -> None:
        self.last_frame = now


class FpsLog:
    """Once a second appends `seconds frames fps cpu_percent state` to a file: frames drawn,
    this process's CPU use (all threads, a running drag included) and idle/running."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("# seconds frames fps cpu_percent state\n")
        self._start = self._since = time.monotonic()
        self._cpu = time.process_time()
        self._frames = 0
        self._states: set[str] = set()

    def frame(self, state: str) -> None:
        self._frames += 1
        self._states.add(state)
        self.tick(state)

    def tick(self, state: str) -> None:
        """Called every poll: writes a line when a second has passed."""
        now = time.monotonic()
        elapsed = now - self._since
        if elapsed < 1.0:
            return
        cpu = time.process_time()
        states = self._states | {state}
        line = (
            f"{now - self._start:.1f} {self._frames} {self._frames / elapsed:.1f} "
            f"{100 * (cpu - self._cpu) / elapsed:.1f} {'running' if 'running' in states else 'idle'}\n"
        )
        with self.path.open("a") as out:
            out.write(line)
        self._since, self._cpu, self._frames, self._states = now, cpu, 0, set()
