"""f2p-studio: the PySide6 desktop app over the f2p engine.

Layout follows a model/view split: `state` is a Qt-free evented model (psygnal), `qt_*` modules
hold the widgets that take the state, `edits` turns widget gestures into undoable commands, and
`photo_pipeline` is the app's only door to the engine's photo pipeline and predictor.
"""
