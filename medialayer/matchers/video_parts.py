"""The parts of a picture that split screens show: each pane of a 2-4 pane layout, and the middle of a picture
that a pane of that shape shows (split-screen apps scale each video to cover its pane and cut it evenly; a
quarter keeps the frame's shape and shows the whole picture). Each is described like the whole picture, so a
pane of one video is matched against the middle of the other at compare time."""
from __future__ import annotations

_HALF, _THIRD = (0.0, 0.5, 1.0), (0.0, 1 / 3, 2 / 3, 1.0)

# (left, right, top, bottom) in fractions of the content box.
PARTS = {**{f"half across {k}": (_HALF[k], _HALF[k + 1], 0.0, 1.0) for k in range(2)},
         **{f"half down {k}": (0.0, 1.0, _HALF[k], _HALF[k + 1]) for k in range(2)},
         **{f"third across {k}": (_THIRD[k], _THIRD[k + 1], 0.0, 1.0) for k in range(3)},
         **{f"third down {k}": (0.0, 1.0, _THIRD[k], _THIRD[k + 1]) for k in range(3)},
         **{f"quarter {k}": (_HALF[k % 2], _HALF[k % 2 + 1], _HALF[k // 2], _HALF[k // 2 + 1]) for k in range(4)},
         "middle half across": (0.25, 0.75, 0.0, 1.0), "middle half down": (0.0, 1.0, 0.25, 0.75),
         "middle third across": (1 / 3, 2 / 3, 0.0, 1.0), "middle third down": (0.0, 1.0, 1 / 3, 2 / 3)}

# Each pane, and the part of a picture of the frame's shape it shows.
PANE_SHOWS = {**{f"half across {k}": "middle half across" for k in range(2)},
              **{f"half down {k}": "middle half down" for k in range(2)},
              **{f"third across {k}": "middle third across" for k in range(3)},
              **{f"third down {k}": "middle third down" for k in range(3)},
              **{f"quarter {k}": "whole" for k in range(4)}}
