//! Standard base64 as `@endo/base64` speaks it. swing-store decodes a b1 bundle's
//! `endoZipBase64` with `decodeBase64`, whose strictness decides which bundles `addBundle`
//! accepts, so decoding follows its pure-JS decoder (what Node 20 runs) rule for rule and
//! reports its messages. Encoding is ordinary padded base64, which is all `getBundle` needs.

use crate::error::{Error, Result};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const PADDING: char = '=';

/// The name `decodeBase64` puts in its messages when its caller gives none, as swing-store's
/// does not.
const UNNAMED: &str = "<unknown>";

/// Padded standard base64, as `encodeBase64` and `Buffer#toString('base64')` write it.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push(PADDING);
            }
        }
    }
    out
}

fn sextet(c: char) -> Option<u32> {
    match c {
        'A'..='Z' => Some(c as u32 - 'A' as u32),
        'a'..='z' => Some(c as u32 - 'a' as u32 + 26),
        '0'..='9' => Some(c as u32 - '0' as u32 + 52),
        '+' => Some(62),
        '/' => Some(63),
        _ => None,
    }
}

/// `decodeBase64(string)`: rejects characters outside the standard alphabet (whitespace and
/// the URL-safe `-_` included), a final quantum without its padding, and anything after the
/// padding. Like `@endo/base64` it ignores non-zero bits in the padding, and it accepts
/// what that decoder accepts even where RFC 4648 would not (`"a==="` decodes to nothing).
pub fn decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut register: u32 = 0;
    let mut quantum = 0;
    // Everything consumed is ASCII, so byte offsets are the UTF-16 offsets JS reports.
    let mut chars = text.char_indices().peekable();
    while let Some(&(_, c)) = chars.peek() {
        if c == PADDING {
            break;
        }
        let Some(value) = sextet(c) else {
            return Err(Error::InvalidBase64 {
                message: format!("Invalid base64 character {c} in string {UNNAMED}"),
            });
        };
        register = (register << 6) | value;
        quantum += 6;
        if quantum >= 8 {
            quantum -= 8;
            out.push((register >> quantum) as u8);
            register &= (1 << quantum) - 1;
        }
        chars.next();
    }
    while quantum > 0 {
        match chars.peek() {
            Some(&(_, PADDING)) => {
                chars.next();
                quantum -= 2;
            }
            next => {
                let offset = next.map_or(text.len(), |&(i, _)| i);
                return Err(Error::InvalidBase64 {
                    message: format!("Missing padding at offset {offset} of string {UNNAMED}"),
                });
            }
        }
    }
    if let Some(&(offset, _)) = chars.peek() {
        return Err(Error::InvalidBase64 {
            message: format!(
                "Base64 string has trailing garbage {} in string {UNNAMED}",
                &text[offset..]
            ),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    fn message(text: &str) -> String {
        decode(text).unwrap_err().to_string()
    }

    #[test]
    fn encodes_with_padding() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"f"), "Zg==");
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(encode(b"foo"), "Zm9v");
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn decodes_what_it_encodes() {
        for input in [&b""[..], b"f", b"fo", b"foo", b"foob", &[0, 255, 128, 7, 9]] {
            assert_eq!(decode(&encode(input)).unwrap(), input);
        }
    }

    #[test]
    fn rejects_characters_outside_the_standard_alphabet() {
        assert_eq!(
            message("Zm9-"),
            "Invalid base64 character - in string <unknown>"
        );
        assert_eq!(
            message("Zm 9v"),
            "Invalid base64 character   in string <unknown>"
        );
    }

    #[test]
    fn rejects_missing_padding() {
        assert_eq!(
            message("Zg"),
            "Missing padding at offset 2 of string <unknown>"
        );
        assert_eq!(
            message("Zg="),
            "Missing padding at offset 3 of string <unknown>"
        );
    }

    #[test]
    fn rejects_anything_after_the_padding() {
        assert_eq!(
            message("Zm9v="),
            "Base64 string has trailing garbage = in string <unknown>"
        );
        assert_eq!(
            message("Zg===x"),
            "Base64 string has trailing garbage =x in string <unknown>"
        );
    }

    #[test]
    fn accepts_what_endo_accepts_beyond_rfc_4648() {
        assert_eq!(decode("a===").unwrap(), b"");
        assert_eq!(decode("Zh==").unwrap(), b"f");
    }
}
