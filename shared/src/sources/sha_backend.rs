//! Which SHA implementation the signature checks run on. Every webhook's first cost is an HMAC
//! over its whole body (Stripe and Zendesk: SHA-256; Segment: SHA-1), so the CPU's SHA
//! instructions matter: x86 SHA-NI, and the ARMv8 SHA1/SHA2 instructions of Graviton.
//!
//! `sha2` and `sha1` 0.11 pick their backend at run time (`cpufeatures`) on both targets with
//! default features; the 0.10 versions used the ARMv8 instructions only with their `asm`
//! feature, so on Graviton they ran the portable code. This names the backend the same way the
//! crates decide it, for the benchmarks to print and a test to check.

/// The backend `sha2::Sha256` and `sha1::Sha1` run on this CPU.
pub fn sha_backend() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("sha") && std::arch::is_x86_feature_detected!("sse4.1") {
            return "x86 SHA-NI instructions (sha2/sha1 0.11, detected at run time)";
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("sha2") {
            return "ARMv8 SHA1/SHA2 instructions (sha2/sha1 0.11, detected at run time)";
        }
    }
    "portable software (this CPU has no SHA instructions)"
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};

    #[test]
    fn names_the_backend_the_hash_crates_choose() {
        #[cfg(target_arch = "x86_64")]
        let hardware = std::arch::is_x86_feature_detected!("sha") && std::arch::is_x86_feature_detected!("sse4.1");
        #[cfg(target_arch = "aarch64")]
        let hardware = std::arch::is_aarch64_feature_detected!("sha2");
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        let hardware = false;
        assert_eq!(sha_backend().starts_with("portable"), !hardware, "{}", sha_backend());
        // Whatever the backend, RFC 4231 test case 2 holds.
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
