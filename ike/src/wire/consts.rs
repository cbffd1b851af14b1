//! IANA numbers of IKEv2 (the "Internet Key Exchange Version 2 (IKEv2)
//! Parameters" registry), as open newtypes: a value we do not know is kept,
//! printed as a number, and can be reported back to the peer.

use core::fmt;

macro_rules! iana_u16 {
    ($(#[$m:meta])* $name:ident : $repr:ty { $($(#[$vm:meta])* $var:ident = $val:expr => $text:expr,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $repr);
        #[allow(missing_docs)]
        impl $name {
            $($(#[$vm])* pub const $var: $name = $name($val);)*
            /// The registry name, if this value is one we know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $($val => Some($text),)* _ => None }
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() { Some(n) => f.write_str(n), None => write!(f, "{}({})", stringify!($name), self.0) }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { fmt::Debug::fmt(self, f) }
        }
    };
}

iana_u16! {
    /// Exchange type (RFC 7296 3.1).
    ExchangeType: u8 {
        IKE_SA_INIT = 34 => "IKE_SA_INIT",
        IKE_AUTH = 35 => "IKE_AUTH",
        CREATE_CHILD_SA = 36 => "CREATE_CHILD_SA",
        INFORMATIONAL = 37 => "INFORMATIONAL",
    }
}

iana_u16! {
    /// Payload type, the "Next Payload" field (RFC 7296 3.2).
    PayloadType: u8 {
        NONE = 0 => "NONE",
        SA = 33 => "SA",
        KE = 34 => "KE",
        IDI = 35 => "IDi",
        IDR = 36 => "IDr",
        CERT = 37 => "CERT",
        CERTREQ = 38 => "CERTREQ",
        AUTH = 39 => "AUTH",
        NONCE = 40 => "Nonce",
        NOTIFY = 41 => "N",
        DELETE = 42 => "D",
        VENDOR = 43 => "V",
        TSI = 44 => "TSi",
        TSR = 45 => "TSr",
        SK = 46 => "SK",
        CP = 47 => "CP",
        EAP = 48 => "EAP",
        SKF = 53 => "SKF",
    }
}

iana_u16! {
    /// Security protocol identifier (RFC 7296 3.3.1).
    ProtocolId: u8 {
        IKE = 1 => "IKE",
        AH = 2 => "AH",
        ESP = 3 => "ESP",
    }
}

iana_u16! {
    /// Transform type (RFC 7296 3.3.2).
    TransformType: u8 {
        ENCR = 1 => "ENCR",
        PRF = 2 => "PRF",
        INTEG = 3 => "INTEG",
        DH = 4 => "D-H",
        ESN = 5 => "ESN",
    }
}

iana_u16! {
    /// Notify message type (RFC 7296 3.10.1, RFC 7383, RFC 5685 ...).
    NotifyType: u16 {
        UNSUPPORTED_CRITICAL_PAYLOAD = 1 => "UNSUPPORTED_CRITICAL_PAYLOAD",
        INVALID_IKE_SPI = 4 => "INVALID_IKE_SPI",
        INVALID_MAJOR_VERSION = 5 => "INVALID_MAJOR_VERSION",
        INVALID_SYNTAX = 7 => "INVALID_SYNTAX",
        INVALID_MESSAGE_ID = 9 => "INVALID_MESSAGE_ID",
        INVALID_SPI = 11 => "INVALID_SPI",
        NO_PROPOSAL_CHOSEN = 14 => "NO_PROPOSAL_CHOSEN",
        INVALID_KE_PAYLOAD = 17 => "INVALID_KE_PAYLOAD",
        AUTHENTICATION_FAILED = 24 => "AUTHENTICATION_FAILED",
        SINGLE_PAIR_REQUIRED = 34 => "SINGLE_PAIR_REQUIRED",
        NO_ADDITIONAL_SAS = 35 => "NO_ADDITIONAL_SAS",
        INTERNAL_ADDRESS_FAILURE = 36 => "INTERNAL_ADDRESS_FAILURE",
        FAILED_CP_REQUIRED = 37 => "FAILED_CP_REQUIRED",
        TS_UNACCEPTABLE = 38 => "TS_UNACCEPTABLE",
        INVALID_SELECTORS = 39 => "INVALID_SELECTORS",
        TEMPORARY_FAILURE = 43 => "TEMPORARY_FAILURE",
        CHILD_SA_NOT_FOUND = 44 => "CHILD_SA_NOT_FOUND",
        INITIAL_CONTACT = 16384 => "INITIAL_CONTACT",
        SET_WINDOW_SIZE = 16385 => "SET_WINDOW_SIZE",
        ADDITIONAL_TS_POSSIBLE = 16386 => "ADDITIONAL_TS_POSSIBLE",
        IPCOMP_SUPPORTED = 16387 => "IPCOMP_SUPPORTED",
        NAT_DETECTION_SOURCE_IP = 16388 => "NAT_DETECTION_SOURCE_IP",
        NAT_DETECTION_DESTINATION_IP = 16389 => "NAT_DETECTION_DESTINATION_IP",
        COOKIE = 16390 => "COOKIE",
        USE_TRANSPORT_MODE = 16391 => "USE_TRANSPORT_MODE",
        HTTP_CERT_LOOKUP_SUPPORTED = 16392 => "HTTP_CERT_LOOKUP_SUPPORTED",
        REKEY_SA = 16393 => "REKEY_SA",
        ESP_TFC_PADDING_NOT_SUPPORTED = 16394 => "ESP_TFC_PADDING_NOT_SUPPORTED",
        NON_FIRST_FRAGMENTS_ALSO = 16395 => "NON_FIRST_FRAGMENTS_ALSO",
        MOBIKE_SUPPORTED = 16396 => "MOBIKE_SUPPORTED",
        MULTIPLE_AUTH_SUPPORTED = 16404 => "MULTIPLE_AUTH_SUPPORTED",
        REDIRECT_SUPPORTED = 16406 => "REDIRECT_SUPPORTED",
        IKEV2_FRAGMENTATION_SUPPORTED = 16430 => "IKEV2_FRAGMENTATION_SUPPORTED",
        SIGNATURE_HASH_ALGORITHMS = 16431 => "SIGNATURE_HASH_ALGORITHMS",
    }
}

impl NotifyType {
    /// Types below 16384 report errors (RFC 7296 3.10.1).
    pub fn is_error(self) -> bool {
        self.0 < 16384
    }
}

iana_u16! {
    /// Encryption algorithm transform IDs (transform type 1).
    EncrId: u16 {
        DES_IV64 = 1 => "ENCR_DES_IV64",
        DES = 2 => "ENCR_DES",
        TRIPLE_DES = 3 => "ENCR_3DES",
        NULL = 11 => "ENCR_NULL",
        AES_CBC = 12 => "ENCR_AES_CBC",
        AES_CTR = 13 => "ENCR_AES_CTR",
        AES_CCM_8 = 14 => "ENCR_AES_CCM_8",
        AES_GCM_8 = 18 => "ENCR_AES_GCM_8",
        AES_GCM_12 = 19 => "ENCR_AES_GCM_12",
        AES_GCM_16 = 20 => "ENCR_AES_GCM_16",
        CHACHA20_POLY1305 = 28 => "ENCR_CHACHA20_POLY1305",
    }
}

iana_u16! {
    /// Pseudorandom function transform IDs (transform type 2).
    PrfId: u16 {
        HMAC_MD5 = 1 => "PRF_HMAC_MD5",
        HMAC_SHA1 = 2 => "PRF_HMAC_SHA1",
        AES128_XCBC = 4 => "PRF_AES128_XCBC",
        HMAC_SHA2_256 = 5 => "PRF_HMAC_SHA2_256",
        HMAC_SHA2_384 = 6 => "PRF_HMAC_SHA2_384",
        HMAC_SHA2_512 = 7 => "PRF_HMAC_SHA2_512",
        AES128_CMAC = 8 => "PRF_AES128_CMAC",
    }
}

iana_u16! {
    /// Integrity algorithm transform IDs (transform type 3).
    IntegId: u16 {
        NONE = 0 => "NONE",
        HMAC_MD5_96 = 1 => "AUTH_HMAC_MD5_96",
        HMAC_SHA1_96 = 2 => "AUTH_HMAC_SHA1_96",
        AES_XCBC_96 = 5 => "AUTH_AES_XCBC_96",
        HMAC_SHA2_256_128 = 12 => "AUTH_HMAC_SHA2_256_128",
        HMAC_SHA2_384_192 = 13 => "AUTH_HMAC_SHA2_384_192",
        HMAC_SHA2_512_256 = 14 => "AUTH_HMAC_SHA2_512_256",
    }
}

iana_u16! {
    /// Diffie-Hellman group transform IDs (transform type 4).
    DhId: u16 {
        NONE = 0 => "NONE",
        MODP_768 = 1 => "MODP-768 (group 1)",
        MODP_1024 = 2 => "MODP-1024 (group 2)",
        MODP_1536 = 5 => "MODP-1536 (group 5)",
        MODP_2048 = 14 => "MODP-2048 (group 14)",
        MODP_3072 = 15 => "MODP-3072 (group 15)",
        MODP_4096 = 16 => "MODP-4096 (group 16)",
        MODP_6144 = 17 => "MODP-6144 (group 17)",
        MODP_8192 = 18 => "MODP-8192 (group 18)",
        ECP_256 = 19 => "ECP-256 (group 19)",
        ECP_384 = 20 => "ECP-384 (group 20)",
        ECP_521 = 21 => "ECP-521 (group 21)",
        MODP_1024_S160 = 22 => "MODP-1024/160 (group 22)",
        MODP_2048_S224 = 23 => "MODP-2048/224 (group 23)",
        MODP_2048_S256 = 24 => "MODP-2048/256 (group 24)",
        CURVE25519 = 31 => "Curve25519 (group 31)",
    }
}

iana_u16! {
    /// Extended Sequence Numbers transform IDs (transform type 5).
    EsnId: u16 {
        NO = 0 => "No ESN",
        YES = 1 => "ESN",
    }
}

iana_u16! {
    /// Authentication method (RFC 7296 3.8).
    AuthMethod: u8 {
        RSA_SIG = 1 => "RSA Digital Signature",
        SHARED_KEY_MIC = 2 => "Shared Key Message Integrity Code",
        DSS_SIG = 3 => "DSS Digital Signature",
        DIGITAL_SIGNATURE = 14 => "Digital Signature",
    }
}

iana_u16! {
    /// Identification type (RFC 7296 3.5).
    IdType: u8 {
        IPV4_ADDR = 1 => "ID_IPV4_ADDR",
        FQDN = 2 => "ID_FQDN",
        RFC822_ADDR = 3 => "ID_RFC822_ADDR",
        IPV6_ADDR = 5 => "ID_IPV6_ADDR",
        DER_ASN1_DN = 9 => "ID_DER_ASN1_DN",
        DER_ASN1_GN = 10 => "ID_DER_ASN1_GN",
        KEY_ID = 11 => "ID_KEY_ID",
    }
}

iana_u16! {
    /// Traffic selector type (RFC 7296 3.13.1).
    TsType: u8 {
        IPV4_ADDR_RANGE = 7 => "TS_IPV4_ADDR_RANGE",
        IPV6_ADDR_RANGE = 8 => "TS_IPV6_ADDR_RANGE",
    }
}

/// Transform attribute type "Key Length" (RFC 7296 3.3.5), always TV format.
pub const ATTR_KEY_LENGTH: u16 = 14;
