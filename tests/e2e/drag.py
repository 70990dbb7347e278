#!/usr/bin/python3
"""A drag source for the end-to-end suite: a small GTK window that offers
the files named on the command line as a `text/uri-list`, as a file manager
does. The suite drags from it onto the app with xdotool (a real XDND drop,
which tauri turns into its drag-drop event). Prints `ready` once mapped, and
`dropped` and exits when the drag ends.

Usage: drag.py X Y FILE...   (the window's position on the screen)
"""
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

x, y = int(sys.argv[1]), int(sys.argv[2])
uris = [GLib.filename_to_uri(p, None) for p in sys.argv[3:]]

win = Gtk.Window(title="licensedesk-e2e-drag-source")
win.set_default_size(160, 80)
win.set_decorated(False)
win.move(x, y)
button = Gtk.Button(label="%d file(s)" % len(uris))
button.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
button.drag_source_add_uri_targets()


def on_get(_widget, _ctx, data, _info, _time):
    data.set_uris(uris)


def on_end(*_args):
    print("dropped", flush=True)
    Gtk.main_quit()


button.connect("drag-data-get", on_get)
button.connect("drag-end", on_end)
win.add(button)
win.connect("map-event", lambda *_: print("ready", flush=True))
win.show_all()
Gtk.main()
