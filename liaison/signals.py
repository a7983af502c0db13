"""Signals between features, so a feature never imports one that builds on it.

`progress_changed` is sent (with `user_id`) when something a certification rule looks at may have
changed: a module read, a quiz passed, attendance recorded. The certificates feature listens.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

progress_changed = _signals.signal("progress-changed")
