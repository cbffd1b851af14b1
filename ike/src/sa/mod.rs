//! IKE SA and child SA state machines (RFC 7296), initiator and responder.
