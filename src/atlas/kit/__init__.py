"""Generic building blocks shared by every domain; nothing here knows about a domain."""
