//! BGP-4 (RFC 4271, RFC 6793), sans-IO: codec, session FSM, RIB. Built by issue 4.
