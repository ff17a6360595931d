"""The commune drive as the controller sees it: its share links (docs/drive.md)."""
