//! OIDs that `const_oid::db` does not name, and the keyUsage and Netscape cert type bits. Every
//! other OID comes from `const_oid::db`.

use const_oid::ObjectIdentifier;

pub(super) const OID_NETSCAPE_CERT_TYPE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.113730.1.1");
pub(super) const OID_IP_ADDR_BLOCKS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.7");
pub(super) const OID_AS_IDS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.8");
pub(super) const OID_PROXY_CERT_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.14");
pub(super) const OID_SMTP_UTF8_MAILBOX: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.8.9");

pub(super) const OID_DH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.3.1");
pub(super) const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");
pub(super) const OID_ECDSA_WITH_SHA1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");

pub(super) const KU_DIGITAL_SIGNATURE: u16 = 0x0080;
pub(super) const KU_KEY_CERT_SIGN: u16 = 0x0004;
/// Netscape SSL CA, S/MIME CA and object-signing CA bits.
pub(super) const NS_ANY_CA: u8 = 0x07;

pub(super) fn oid_eq(raw: &[u8], oid: &ObjectIdentifier) -> bool {
    raw == oid.as_bytes()
}
