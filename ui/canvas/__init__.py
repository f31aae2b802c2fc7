"""The scenario canvas: scene (items following the model), view (zoom, pan, drops), gestures."""
