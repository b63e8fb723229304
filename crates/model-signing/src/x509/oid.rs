//! OIDs, and the keyUsage and Netscape cert type bits.

use const_oid::ObjectIdentifier;

pub(super) const OID_BASIC_CONSTRAINTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.19");
pub(super) const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
pub(super) const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
pub(super) const OID_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
pub(super) const OID_NAME_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.30");
pub(super) const OID_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
pub(super) const OID_AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
pub(super) const OID_CRL_DIST_POINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
pub(super) const OID_CERT_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
pub(super) const OID_POLICY_MAPPINGS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.33");
pub(super) const OID_POLICY_CONSTRAINTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.36");
pub(super) const OID_INHIBIT_ANY_POLICY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.54");
pub(super) const OID_NETSCAPE_CERT_TYPE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.113730.1.1");
pub(super) const OID_IP_ADDR_BLOCKS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.7");
pub(super) const OID_AS_IDS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.8");
pub(super) const OID_PROXY_CERT_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.14");
pub(super) const OID_OCSP_NO_CHECK: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");
pub(super) const OID_EKU_CODE_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
pub(super) const OID_SMTP_UTF8_MAILBOX: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.8.9");

pub(super) const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
pub(super) const OID_EMAIL_ADDRESS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");

pub(super) const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
pub(super) const OID_RSASSA_PSS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
pub(super) const OID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
pub(super) const OID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(super) const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
pub(super) const OID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
pub(super) const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
pub(super) const OID_X448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.111");
pub(super) const OID_DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");
pub(super) const OID_DH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.3.1");
pub(super) const OID_DHX: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10046.2.1");

pub(super) const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub(super) const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
pub(super) const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
pub(super) const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");

pub(super) const OID_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
pub(super) const OID_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
pub(super) const OID_SHA512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

pub(super) const KU_DIGITAL_SIGNATURE: u16 = 0x0080;
pub(super) const KU_KEY_CERT_SIGN: u16 = 0x0004;
/// Netscape SSL CA, S/MIME CA and object-signing CA bits.
pub(super) const NS_ANY_CA: u8 = 0x07;

pub(super) fn oid_eq(raw: &[u8], oid: &ObjectIdentifier) -> bool {
    raw == oid.as_bytes()
}
