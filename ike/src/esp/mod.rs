//! ESP (RFC 4303) security associations in tunnel mode: seal, open and
//! anti-replay, over AES-GCM (RFC 4106) or AES-CBC with HMAC (RFC 3602,
//! RFC 4868).
