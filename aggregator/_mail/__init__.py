"""Mail: each subscriber's digest composed, sent over SMTP, and logged exactly once.

Owns which entries a subscriber gets, the message's MIME structure and headers, the
SMTP connection, and the delivery log's rules. Never renders templates of its own
beyond the email layout, never publishes.
"""
