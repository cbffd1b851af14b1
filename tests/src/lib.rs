//! Test harness: network namespaces, real peers (strongSwan, BIRD), tshark.
