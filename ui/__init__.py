"""The PySide6 application. The only package that imports Qt."""
