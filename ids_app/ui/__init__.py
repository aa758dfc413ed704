"""The desktop shell (PySide6): the only package that imports Qt.

Widgets collect what the person types and call a service; the services decide.
"""
