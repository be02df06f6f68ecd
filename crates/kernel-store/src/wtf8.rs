//! JS strings as bytes. V8 writes a string for SQLite as WTF-8: a lone surrogate becomes its
//! own 3-byte sequence (`ED A0 80` for U+D800), which is what better-sqlite3 stores, so that is
//! what this store keeps too. Node's hashing of the same string writes U+FFFD instead, so the
//! crank hash is fed the replaced form.

use std::borrow::Cow;

const REPLACEMENT: [u8; 3] = [0xEF, 0xBF, 0xBD];

/// Whether bytes `i..i+3` encode a surrogate code point (U+D800..U+DFFF).
fn surrogate_at(bytes: &[u8], i: usize) -> bool {
    bytes[i] == 0xED
        && bytes.get(i + 1).is_some_and(|b| (0xA0..=0xBF).contains(b))
        && bytes.get(i + 2).is_some()
}

/// The UTF-8 Node writes (to a hash or a stream) for a JS string stored as `bytes`: every surrogate becomes U+FFFD.
pub fn to_node_utf8(bytes: &[u8]) -> Cow<'_, [u8]> {
    if std::str::from_utf8(bytes).is_ok() {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if surrogate_at(bytes, i) {
            out.extend_from_slice(&REPLACEMENT);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// Encodes UTF-16 code units as WTF-8: paired surrogates as one 4-byte character, lone ones as
/// their own 3-byte sequence.
pub fn from_utf16(units: &[u16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(units.len() * 3);
    for item in char::decode_utf16(units.iter().copied()) {
        match item {
            Ok(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            Err(lone) => {
                let u = lone.unpaired_surrogate();
                out.extend_from_slice(&[
                    0xE0 | (u >> 12) as u8,
                    0x80 | ((u >> 6) & 0x3F) as u8,
                    0x80 | (u & 0x3F) as u8,
                ]);
            }
        }
    }
    out
}

/// Decodes WTF-8 into `char`s, surrogates as `Err(code unit)`; other invalid bytes as U+FFFD.
pub fn decode(bytes: &[u8]) -> Vec<Result<char, u16>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if surrogate_at(bytes, i) {
            let unit = ((u16::from(bytes[i]) & 0x0F) << 12)
                | ((u16::from(bytes[i + 1]) & 0x3F) << 6)
                | (u16::from(bytes[i + 2]) & 0x3F);
            out.push(Err(unit));
            i += 3;
            continue;
        }
        let width = match bytes[i] {
            b if b < 0x80 => 1,
            b if b >= 0xF0 => 4,
            b if b >= 0xE0 => 3,
            _ => 2,
        };
        match bytes
            .get(i..i + width)
            .and_then(|s| std::str::from_utf8(s).ok())
        {
            Some(s) => {
                out.extend(s.chars().map(Ok));
                i += width;
            }
            None => {
                out.push(Ok(char::REPLACEMENT_CHARACTER));
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_keep_their_own_bytes() {
        assert_eq!(from_utf16(&[0x6B, 0xD800]), b"k\xED\xA0\x80");
        assert_eq!(from_utf16(&[0xD83D, 0xDE00]), "😀".as_bytes());
    }

    #[test]
    fn hashing_sees_a_replacement_character_per_surrogate() {
        assert_eq!(
            to_node_utf8(b"v\xED\xB0\x80").as_ref(),
            "v\u{FFFD}".as_bytes()
        );
        assert!(matches!(
            to_node_utf8("plain €".as_bytes()),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn decoding_returns_surrogates_as_code_units() {
        assert_eq!(
            decode(b"a\xED\xA0\x80\xE2\x82\xAC"),
            vec![Ok('a'), Err(0xD800), Ok('€')]
        );
    }
}
