//! NAT traversal (RFC 7296 2.23, RFC 3948).
