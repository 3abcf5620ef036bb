//! Verifying Loam's webhook deliveries (Standard Webhooks): `webhook-signature` holds
//! `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">` under the endpoint's
//! secret (`whsec_` + base64 of the key), one per signing secret, space-separated.
//!
//! SHA-256, HMAC and base64 are written out here (a few dozen lines) so that the crate keeps to
//! the dependencies Debian packages; this file depends on nothing but `std`.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds a delivery's timestamp may differ from the receiver's clock by default.
pub const DEFAULT_WEBHOOK_TOLERANCE_SECS: u64 = 300;

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookVerificationError(pub String);

impl fmt::Display for WebhookVerificationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "webhook verification failed: {}", self.0)
    }
}

impl std::error::Error for WebhookVerificationError {}

/// Checks a delivery's Standard Webhooks signature against `secret` at the current time
/// (tolerance `DEFAULT_WEBHOOK_TOLERANCE_SECS`). `headers` are (name, value) pairs, names in any
/// case. Use the body exactly as received, before any JSON parsing.
///
/// ```
/// let headers = [
///     ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
///     ("webhook-timestamp", "1614265330"),
///     ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
/// ];
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// assert!(loam::verify_webhook_at(r#"{"test": 2432232314}"#, &headers, secret, 1614265330, 300).is_ok());
/// ```
pub fn verify_webhook_signature<K: AsRef<str>, V: AsRef<str>>(
    body: &str,
    headers: &[(K, V)],
    secret: &str,
) -> Result<(), WebhookVerificationError> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    verify_webhook_at(body, headers, secret, now, DEFAULT_WEBHOOK_TOLERANCE_SECS)
}

/// `verify_webhook_signature` with the receiver's clock (`now`, Unix seconds) and tolerance given.
pub fn verify_webhook_at<K: AsRef<str>, V: AsRef<str>>(
    body: &str,
    headers: &[(K, V)],
    secret: &str,
    now: u64,
    tolerance_secs: u64,
) -> Result<(), WebhookVerificationError> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref().trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let fail = |m: &str| Err(WebhookVerificationError(m.to_string()));
    let (id, ts, sigs) = match (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature")) {
        (Some(i), Some(t), Some(s)) => (i, t, s),
        _ => return fail("missing webhook-id, webhook-timestamp or webhook-signature"),
    };
    let sent: u64 = match ts.parse() {
        Ok(t) => t,
        Err(_) => return fail("webhook-timestamp is not a number"),
    };
    if sent.max(now) - sent.min(now) > tolerance_secs {
        return fail("timestamp outside the tolerance");
    }
    let key = match base64_decode(secret.strip_prefix("whsec_").unwrap_or(secret)) {
        Some(k) => k,
        None => return fail("the secret is not base64"),
    };
    let expected = base64_encode(&hmac_sha256(&key, format!("{}.{}.{}", id, ts, body).as_bytes()));
    let matches = sigs
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| constant_time_eq(s.as_bytes(), expected.as_bytes()));
    if matches {
        Ok(())
    } else {
        fail("no signature matches")
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
    0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
    0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
    0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
    0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 (FIPS 180-4).
fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([block[4 * i], block[4 * i + 1], block[4 * i + 2], block[4 * i + 3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for i in 0..8 {
            h[i] = h[i].wrapping_add(v[i]);
        }
    }
    let mut out = [0u8; 32];
    for i in 0..8 {
        out[4 * i..4 * i + 4].copy_from_slice(&h[i].to_be_bytes());
    }
    out
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(msg);
    let mut outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity((data.len() + 2) / 3 * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (padding optional); None for any other character.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's test vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const BODY: &str = r#"{"test": 2432232314}"#;
    const TS: u64 = 1614265330;

    fn headers(sig: &str) -> Vec<(&'static str, String)> {
        vec![
            ("Webhook-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek".to_string()),
            ("webhook-timestamp", TS.to_string()),
            ("webhook-signature", sig.to_string()),
        ]
    }

    #[test]
    fn accepts_the_standard_webhooks_vector() {
        let h = headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(verify_webhook_at(BODY, &h, SECRET, TS, 300), Ok(()));
        // One of several signatures (a rotation's grace period) is enough.
        let both = headers("v1,Zm9vYmFy v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(verify_webhook_at(BODY, &both, SECRET, TS + 10, 300), Ok(()));
    }

    #[test]
    fn refuses_a_tampered_body_another_secret_a_stale_timestamp_and_missing_headers() {
        let h = headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify_webhook_at(r#"{"test": 2432232315}"#, &h, SECRET, TS, 300).is_err());
        assert!(verify_webhook_at(BODY, &h, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", TS, 300).is_err());
        assert!(verify_webhook_at(BODY, &h, SECRET, TS + 301, 300).is_err());
        assert!(verify_webhook_at(BODY, &h, SECRET, TS - 301, 300).is_err());
        assert!(verify_webhook_at(BODY, &headers("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), SECRET, TS, 300).is_err());
        assert!(verify_webhook_at(BODY, &h[..2], SECRET, TS, 300).is_err());
    }

    #[test]
    fn sha256_and_base64_match_known_answers() {
        assert_eq!(base64_encode(&sha256(b"abc")), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
        assert_eq!(base64_decode("Zm9vYg==").unwrap(), b"foob");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert!(base64_decode("not*base64").is_none());
    }
}
